"""Plugins are distributions: pip-installing one turns it on, uninstalling turns it off."""

from __future__ import annotations

import json

import pytest

from tests.helpers.venvs import Venv


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    env = Venv(tmp_path_factory.mktemp("venv") / "env")
    env.install("./", "./plugins/serialization", "./tests/fixtures/demo_plugin")
    return env


def plugins(venv: Venv, **env: str) -> dict[str, dict]:
    done = venv.run("agentwinter", "plugins", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)}


@pytest.mark.slow
def test_installed_plugin_is_found_listed_blocked_and_removed(venv, tmp_path):
    found = plugins(venv)
    assert found["demo"]["distribution"] == "agentwinter-demo"
    assert found["demo"]["version"] == "0.0.7"
    assert found["demo"]["status"] == "active"
    assert found["demo"]["hooks"] == ["on_command", "register_commands"]
    assert found["serialization"]["status"] == "active"

    env = {"XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    answered = venv.run("agentwinter", stdin="!demo world\n!help\n", env=env)
    assert "demo plugin says hello world" in answered.stdout
    assert "!demo" in answered.stdout

    assert plugins(venv, AGENTWINTER_DISABLE_PLUGINS="demo")["demo"]["status"] == "blocked"
    blocked = venv.run("agentwinter", stdin="!demo\n", env={**env, "AGENTWINTER_DISABLE_PLUGINS": "demo"})
    assert "unknown command !demo" in blocked.stderr

    venv.uninstall("agentwinter-demo")
    assert "demo" not in plugins(venv)
    gone = venv.run("agentwinter", stdin="!demo\n", env=env)
    assert gone.returncode == 0 and "unknown command !demo" in gone.stderr
