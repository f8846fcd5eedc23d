"""The installed ``agentwinter`` command, driven like a script would: piped stdin, real SDK, fake API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fake_api as fake

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


@pytest.fixture
def run_cli(fake_api, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.md").write_text("The launch date is March 3.\n")

    def run(*args: str, stdin: str = "", extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
        env.update(fake_api.env())
        env.update(
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            XDG_DATA_HOME=str(tmp_path / "data"),
            AGENTWINTER_DISABLE_PLUGINS="sessions",  # stateless here; the sessions tests cover Redis
        )
        env.update(extra_env or {})
        return subprocess.run(
            [AGENTWINTER, *args], input=stdin, capture_output=True, text=True, env=env, cwd=project, timeout=60
        )

    return run


@pytest.mark.slow
def test_two_piped_queries_with_a_read_file_in_between(fake_api, run_cli):
    fake_api.add(
        fake.tool_use("read_file", {"path": "notes.md"}),
        fake.text("The launch is on March 3."),
        fake.text("I read notes.md."),
    )
    done = run_cli(stdin="when is the launch?\nwhich file did you read?\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The launch is on March 3.\nI read notes.md.\n"  # answers only
    assert "read_file notes.md" in done.stderr
    requests = fake_api.message_requests()
    assert len(requests) == 3
    assert "The launch date is March 3." in json.dumps(requests[1]["messages"])
    assert len(requests[2]["messages"]) == 1  # sessions disabled: each query starts from zero
    assert fake_api.violations == []


def test_commands_in_piped_input(fake_api, run_cli):
    done = run_cli(stdin="!help\n!nosuch\nexit\nnever sent\n")
    assert done.returncode == 0
    assert "!help" in done.stdout and "!plugins" in done.stdout
    assert "unknown command !nosuch" in done.stderr
    assert fake_api.message_requests() == []  # "exit" stopped before the last line


@pytest.mark.slow
def test_one_shot_forms(fake_api, run_cli):
    fake_api.add(fake.text("one"), fake.text("two"))
    assert run_cli("-p", "first?").stdout == "one\n"
    assert run_cli("ask", "second?").stdout == "two\n"


@pytest.mark.slow
def test_one_shot_failure_exit_code_and_single_line(fake_api, run_cli):
    fake_api.fail_always(401, "authentication_error")
    done = run_cli("-p", "hello")
    assert done.returncode == 1
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == done.stderr.splitlines()
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "API key was rejected" in done.stderr


def test_no_api_key_does_not_stop_the_repl(run_cli):
    done = run_cli(stdin="hello\n!help\n", extra_env={"ANTHROPIC_API_KEY": ""})
    assert done.returncode == 1  # the query failed; the lines after it still ran
    assert "ANTHROPIC_API_KEY is not set" in done.stderr
    assert "!help" in done.stdout


def test_version_and_plugins_json(run_cli):
    assert run_cli("--version").stdout.startswith("agentwinter ")
    listed = run_cli("plugins", "--json", extra_env={"AGENTWINTER_DISABLE_PLUGINS": "serialization"})
    by_name = {row["name"]: row for row in json.loads(listed.stdout)}
    assert by_name["builtin_tools"]["status"] == "active"
    assert "register_tools" in by_name["builtin_tools"]["hooks"]
    assert by_name["serialization"]["status"] == "blocked"
    assert by_name["serialization"]["distribution"] == "agentwinter-serialization"
    table = run_cli("plugins").stdout.splitlines()
    assert len(table) == len(by_name)
    # aligned columns: each plugin's distribution starts at the same place
    assert len({line.index(by_name[line.split()[0]]["distribution"]) for line in table}) == 1
