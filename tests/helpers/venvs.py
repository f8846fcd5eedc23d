"""Fresh virtual environments with distributions pip-installed from this tree, as a user would."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        if not self.bin.exists():
            venv.EnvBuilder(with_pip=True).create(path)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run pip in this venv; raises with pip's output when it fails."""
        cmd = [str(self.bin / "python"), "-m", "pip", "--disable-pip-version-check", "-q", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise AssertionError(f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def install(self, *paths: str) -> None:
        """pip install local trees, e.g. ``install("./", "./plugins/sessions")`` (relative to the repo)."""
        self.pip("install", *paths)

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
