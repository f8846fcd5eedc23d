"""Fast start: --help and --version never import the SDK, Redis or other heavy modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("anthropic", "httpx2", "httpx", "redis", "pydantic", "prompt_toolkit", "lancedb")

PROBE = """
import sys
sys.argv = ["agentwinter", *{args!r}]
from agentwinter_core.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED:" + ",".join(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins"]])
def test_help_and_version_import_nothing_heavy(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.rsplit("LOADED:", 1)[1].strip()
    assert loaded == "", f"agentwinter {' '.join(args)} imported {loaded}"


def test_version_output():
    done = subprocess.run([sys.executable, "-m", "agentwinter_core", "--version"], capture_output=True, text=True)
    from agentwinter_core import __version__

    assert done.stdout.strip() == f"agentwinter {__version__}"
