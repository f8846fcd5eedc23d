"""The example third-party cleanup plugin, pip-installed into a fresh venv next to the default one."""

from __future__ import annotations

import json

import pytest

from tests.helpers.conversations import Call, build
from tests.helpers.venvs import Venv

# Runs inside the venv: the real plugin host with whatever is installed there, one cleanup call.
PROBE = """
import json, sys
from agentwinter_core.app import build_app
from agentwinter_core.host import build_plugin_manager
pm = build_plugin_manager()
app = build_app(pm, interactive=False)
messages = json.load(sys.stdin)
cleaned = pm.hook.cleanup_messages(messages=messages, app=app)
print(json.dumps({"messages": len(cleaned), "cleared": json.dumps(cleaned).count("[Cleared: ")}))
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    env = Venv(tmp_path_factory.mktemp("venv") / "env")
    env.install("./", "./plugins/cleanup", "./examples/cleanup-keep-recent")
    return env


def cleanup_in(venv: Venv, tmp_path, **env: str) -> dict[str, int]:
    messages = build([[[Call(content="r" * 3000)] for _ in range(2)] for _ in range(5)], thinking=True)
    settings = {
        "AGENTWINTER_CLEANUP_TRIGGER": "100",
        "AGENTWINTER_CLEANUP_CLEAR_AT_LEAST": "100",
        "AGENTWINTER_CLEANUP_KEEP": "3",
        "AGENTWINTER_CONFIG": str(tmp_path / "none.toml"),
    }
    done = venv.run("python", "-c", PROBE, stdin=json.dumps(messages), env={**settings, **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_the_example_wins_over_the_default_and_each_can_be_turned_off(venv, tmp_path):
    listed = {row["name"]: row for row in json.loads(venv.run("agentwinter", "plugins", "--json").stdout)}
    assert listed["keep_recent"]["distribution"] == "agentwinter-cleanup-keep-recent"
    assert listed["keep_recent"]["hooks"] == ["cleanup_messages"] and listed["cleanup"]["status"] == "active"

    # 5 turns of 6 messages: the example keeps the last 3 turns whole, clearing nothing
    assert cleanup_in(venv, tmp_path) == {"messages": 18, "cleared": 0}
    # blocked by name: the default cache-aware cleanup is back (keeps all messages, clears old results)
    assert cleanup_in(venv, tmp_path, AGENTWINTER_DISABLE_PLUGINS="keep_recent") == {"messages": 30, "cleared": 7}
    # both off: nothing is cleaned up at all
    off = cleanup_in(venv, tmp_path, AGENTWINTER_DISABLE_PLUGINS="keep_recent,cleanup")
    assert off == {"messages": 30, "cleared": 0}

    venv.uninstall("agentwinter-cleanup-keep-recent")
    assert cleanup_in(venv, tmp_path) == {"messages": 30, "cleared": 7}
    assert cleanup_in(venv, tmp_path, AGENTWINTER_DISABLE_PLUGINS="cleanup") == {"messages": 30, "cleared": 0}
