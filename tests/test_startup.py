"""Fast start: --help and --version never import the SDK, Redis or other heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("anthropic", "httpx2", "httpx", "redis", "pydantic", "prompt_toolkit", "lancedb")

PROBE = """
import sys
sys.argv = ["agentwinter", *{args!r}]
from agentwinter_core.cli import dispatch
try:
    dispatch(sys.argv[1:])
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


WARM_UP = """
import io, json, sys
from pathlib import Path
from agentwinter_core.app import build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.ui import UI

pm = build_plugin_manager()
app = build_app(pm, interactive=False, project_dir=Path.cwd())
app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
pm.hook.startup(app=app)
at_start = "redis" in sys.modules
app.plugin_state["sessions.warm_up"].join(30)
print(json.dumps({"at_start": at_start, "after": {"redis", "agentwinter_sessions.store"} <= set(sys.modules),
                  "said": app.ui.out.file.getvalue() + app.ui.err.file.getvalue()}))
"""


def test_sessions_load_the_redis_client_in_the_background_after_start_up(tmp_path):
    # ~0.4 s of imports the first save would otherwise wait for; not at start-up, which must stay fast
    done = subprocess.run([sys.executable, "-c", WARM_UP], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {"at_start": False, "after": True, "said": ""}


LEAVING = """
import sys, threading
from agentwinter_core.cli import leave
sys.stdout.write("answer, still buffered")
if sys.argv[1] == "thread":
    threading.Timer(0.2, lambda: print(" and a late line", flush=True)).start()  # not a daemon: waited for
leave(int(sys.argv[2]))
"""


@pytest.mark.parametrize(
    ("case", "code", "printed"),
    [
        ("plain", 3, "answer, still buffered"),
        ("thread", 0, "answer, still buffered and a late line\n"),
    ],
)
def test_leaving_skips_the_teardown_but_flushes_and_waits_for_running_threads(case, code, printed):
    done = subprocess.run([sys.executable, "-c", LEAVING, case, str(code)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (code, printed, "")
