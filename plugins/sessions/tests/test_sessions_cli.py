"""Sessions through the installed CLI: piped runs, disabling, and uninstalling the distribution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fake_api as fake
from tests.helpers.app import cli_env
from tests.helpers.venvs import Venv

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


@pytest.mark.slow
def test_piped_run_keeps_stdout_for_answers_and_saves_the_session(fake_api, redis_server, tmp_path):
    fake_api.add(fake.text("first answer"), fake.text("second answer"))
    done = subprocess.run(
        [AGENTWINTER],
        input="one\ntwo\n!sessions\n",
        capture_output=True,
        text=True,
        env=cli_env(fake_api, tmp_path, redis_server.url()),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["first answer", "second answer"]
    assert lines[2].startswith("|") and all("Session" not in line for line in lines)  # indicators not on stdout
    assert "🆕 New session: session-" in done.stderr and "↩️  Resuming session: session-" in done.stderr
    keys = redis_server.client(1).keys("agentwinter:session:*")
    assert len(keys) == 1
    second_request = fake_api.message_requests()[1]["messages"]
    assert [m["role"] for m in second_request] == ["user", "assistant", "user"]


@pytest.mark.slow
def test_a_new_run_starts_a_new_session(fake_api, redis_server, tmp_path):
    env = cli_env(fake_api, tmp_path, redis_server.url())
    for _ in range(2):
        subprocess.run(
            [AGENTWINTER, "-p", "hello"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=True
        )
    assert len(redis_server.client(1).keys("agentwinter:session:*")) == 2
    assert len(fake_api.message_requests()[1]["messages"]) == 1  # the second run did not see the first


@pytest.mark.slow
def test_disabled_sessions_plugin_never_touches_redis(fake_api, tmp_path):
    env = cli_env(fake_api, tmp_path, "redis://127.0.0.1:9/1", AGENTWINTER_DISABLE_PLUGINS="sessions")
    done = subprocess.run(
        [AGENTWINTER], input="one\ntwo\n!sessions\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0
    assert "Redis" not in done.stderr and "session" not in done.stderr.lower().replace("!sessions", "")
    assert "unknown command !sessions" in done.stderr
    assert len(fake_api.message_requests()[1]["messages"]) == 1  # stateless: each query starts from zero


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    env = Venv(tmp_path_factory.mktemp("sessions-venv") / "env")
    env.install("./", "./plugins/serialization", "./plugins/sessions")
    return env


@pytest.mark.slow
def test_install_turns_sessions_on_and_uninstall_turns_them_off(venv, fake_api, redis_server, tmp_path):
    env = {
        **fake_api.env(),
        "AGENTWINTER_REDIS_URL": redis_server.url(),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    on = venv.run("agentwinter", stdin="one\n", env=env)
    assert "🆕 New session" in on.stderr and redis_server.client(1).keys("agentwinter:session:*")

    venv.uninstall("agentwinter-sessions")
    closed = {**env, "AGENTWINTER_REDIS_URL": "redis://127.0.0.1:9/1"}
    off = venv.run("agentwinter", stdin="one\ntwo\n", env=closed)
    assert off.returncode == 0
    assert "session" not in off.stderr.lower() and "redis" not in off.stderr.lower()
    assert off.stdout == "fake answer\nfake answer\n"
    probe = venv.run("python", "-c", "import importlib.util as u; print(u.find_spec('agentwinter_sessions'))")
    assert probe.stdout.strip() == "None"
