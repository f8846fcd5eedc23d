"""What start-up loads: --version and a cached --help neither typer nor pluggy, a plain run no typer.

(The times themselves are measured by ``python -m bench``, not asserted here.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
sys.argv = ["agentwinter", *sys.argv[1:]]
from agentwinter_core.cli import dispatch
try:
    dispatch(sys.argv[1:])
except SystemExit:
    pass
loaded = {m.split(".")[0] for m in sys.modules} & {"typer", "pluggy", "rich", "anthropic"}
print("LOADED:" + ",".join(sorted(loaded)))
"""


def probe(*args: str, stdin: str = "", **env: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    output, _, loaded = done.stdout.rpartition("LOADED:")
    return output, set(filter(None, loaded.strip().split(",")))


def test_version_loads_neither_typer_nor_pluggy():
    output, loaded = probe("--version")
    assert output.startswith("agentwinter ") and loaded == set()


def test_help_is_built_once_then_read_from_the_cache(tmp_path):
    first, loaded = probe("--help")
    assert "Usage: agentwinter" in first and "typer" in loaded
    again, loaded = probe("--help")
    assert again == first and loaded == set()
    assert probe("-h") == (first, set())


def test_the_cached_help_is_rebuilt_when_an_import_folder_changes(tmp_path):
    env = {"PYTHONPATH": str(tmp_path)}
    first, _ = probe("--help", **env)
    assert probe("--help", **env)[1] == set()
    (tmp_path / "newly_installed.py").write_text("")  # a package added where modules are found
    again, loaded = probe("--help", **env)
    assert again == first and "typer" in loaded


def test_the_cache_is_per_environment_that_shapes_the_help(tmp_path):
    probe("--help")
    _, loaded = probe("--help", AGENTWINTER_DISABLE_PLUGINS="sessions")
    assert "typer" in loaded  # other plugins, other options: built afresh


@pytest.mark.slow
def test_a_run_without_arguments_needs_no_typer(fake_api):
    output, loaded = probe(stdin="hello\n", AGENTWINTER_DISABLE_PLUGINS="sessions", **fake_api.env())
    assert output == "fake answer\n"
    assert "typer" not in loaded and "anthropic" in loaded
