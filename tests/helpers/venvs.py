"""Fresh virtual environments with distributions installed from this tree, as a user would.

The installer is uv's pip interface (the tool scripts/bootstrap.sh puts on PATH): the same wheels and entry
points as pip, built and linked from uv's cache, so a venv costs about 2 s instead of pip's ~40.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def find_uv() -> str | None:
    """uv from PATH, else where scripts/bootstrap.sh installs it."""
    tools = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentwinter-tools" / "bin" / "uv"
    return shutil.which("uv") or (str(tools) if tools.exists() else None)


UV = find_uv()  # looked up at import, before the tests' fixtures point HOME and PATH elsewhere


def uv() -> str:
    if UV is None:
        raise AssertionError("uv is missing: run the tests with ./scripts/test, which installs it")
    return UV


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        if not self.bin.exists():
            self._uv("venv", "--quiet", "--python", sys.executable, str(path))

    def _uv(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([uv(), *args], capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise AssertionError(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def install(self, *paths: str) -> None:
        """Install local trees, e.g. ``install("./", "./plugins/sessions")`` (relative to the repo)."""
        self._uv("pip", "install", "--quiet", "--python", str(self.bin / "python"), *paths)

    def uninstall(self, *names: str) -> None:
        self._uv("pip", "uninstall", "--quiet", "--python", str(self.bin / "python"), *names)

    def run(
        self, *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a console script or ``python`` of this venv with a clean plugin environment."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
        full_env.update(env or {})
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd or ROOT,
            timeout=120,
        )
