"""Small frictions of the sessions commands: each says the right thing in one line."""

from __future__ import annotations

import re

import pytest
from agentwinter_sessions import tracker
from agentwinter_sessions.lifecycle import export_markdown

from agentwinter_core.query import run_query
from tests.helpers import fake_api as fake
from tests.helpers.app import cli, command, make_app, project_env


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def test_parallel_tool_calls_export_as_separate_folds_each_with_its_result():
    calls = [{"type": "tool_use", "id": f"t{i}", "name": "read_file", "input": {"path": f"f{i}"}} for i in (1, 2)]
    results = [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"body of f{i}"} for i in (2, 1)]
    document = {
        "id": "s",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "read both"}]},
            {"role": "assistant", "content": calls},
            {"role": "user", "content": results},
            {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        ],
    }
    markdown = export_markdown(document)
    folds = re.findall(r"<details>(.*?)</details>", markdown, re.S)
    assert len(folds) == 2 and markdown.count("<details>") == markdown.count("</details>") == 2
    assert "f1" in folds[0] and "body of f1" in folds[0] and "body of f2" in folds[1]  # never nested


@pytest.mark.slow
def test_fork_name_and_export_frictions(env, fake_api, redis_server, tmp_path):
    app, agent = make_app(env)
    fake_api.add(fake.text("one"), fake.text("two"), fake.text("three"))
    for query in ("q1", "q2", "q3"):
        run_query(app, agent, query)
    assert "this session has 3 queries: fork after 1 to 3" in command(app, "!fork 99")
    named = command(app, "!name my demo")
    assert "`agentwinter --session 'my demo'`" in named  # a name with a space is quoted for the shell
    session_id = tracker(app).state.id
    for target in (tmp_path / "missing" / "x.json", tmp_path):
        done = cli("sessions", "export", session_id, "-o", str(target), cwd=env)
        assert done.returncode == 2 and done.stderr.startswith(f"error: cannot write {target}"), done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_failed_first_query_announces_no_session_and_no_resume(env, fake_api, redis_server):
    from tests.helpers.app import err

    app, agent = make_app(env)
    fake_api.fail_always(400, "invalid_request_error")
    assert run_query(app, agent, "first").error
    assert "🆕" not in err(app) and "💾" not in err(app) and tracker(app).state.id is None
    fake_api.clear_failure()
    run_query(app, agent, "second")
    lines = err(app).splitlines()
    assert not any("Resuming session" in line for line in lines)  # nothing to resume: the session is new
    assert sum("🆕 New session" in line for line in lines) == 1 and redis_server.client(1).keys("agentwinter:session:*")
