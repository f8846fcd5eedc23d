"""Real (unpacked) distributions on a temporary sys.path entry, found through importlib.metadata."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_dist(site: Path, dist: str, entry_name: str, module: str, source: str, version: str = "1.2.3") -> None:
    """An installed-looking distribution ``dist`` whose entry point ``entry_name`` loads ``module``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[agentwinter]\n{entry_name} = {module}\n")
