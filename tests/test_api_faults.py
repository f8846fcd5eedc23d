"""Every kind of API fault: one clear line, the history stays valid, the next query works."""

from __future__ import annotations

import io

import pytest

from agentwinter_core import history
from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_query
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers.memory import Memory


@pytest.fixture
def make_app(fake_api, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("FEATURES = ['search']\n")
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "config.toml"
    config.write_text("[agentwinter]\nstream_idle_timeout = 0.5\n")
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(config))

    def make():
        pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
        pm.register(Memory())
        app = build_app(pm, interactive=False, project_dir=project)
        app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
        return app, build_agent(app)

    return make


def error_lines(app) -> list[str]:
    return [line for line in app.ui.err.file.getvalue().splitlines() if line.startswith("error:")]


HTTP_FAULTS = [
    (529, "overloaded_error", "overloaded", "after 2 retries"),
    (500, "api_error", "internal error", "after 2 retries"),
    (429, "rate_limit_error", "rate limited", "after 2 retries"),
    (401, "authentication_error", "API key was rejected", "not retried"),
    (400, "invalid_request_error", "refused the request", "not retried"),
]


@pytest.mark.parametrize(("status", "kind", "says", "retried"), HTTP_FAULTS)
def test_http_errors_say_what_failed_whether_retried_and_what_to_do(fake_api, make_app, status, kind, says, retried):
    app, agent = make_app()
    fake_api.add(fake.text("first answer"))
    assert run_query(app, agent, "first").error is None
    fake_api.fail_always(status, kind)
    result = run_query(app, agent, "second")
    fake_api.clear_failure()
    assert result.error and says in result.error and str(status) in result.error and retried in result.error
    assert len(error_lines(app)) == 1 and "Traceback" not in app.ui.err.file.getvalue()
    expected_requests = 1 + (3 if retried.startswith("after") else 1)
    assert len(fake_api.message_requests()) == expected_requests
    fake_api.add(fake.text("third answer"))
    assert run_query(app, agent, "third").error is None
    assert [m["role"] for m in app.conversation.messages] == ["user", "assistant"] * 2  # the failed one is gone
    assert fake_api.violations == []


STREAM_FAULTS = {
    "error_event": "error event mid-answer",
    "cut": "ended before the answer was complete",
    "no_stop": "ended before the answer was complete",
    "bad_json": "malformed stream",
    "not_utf8": "malformed stream",
    "no_message_start": "malformed stream",
    "bad_index": "malformed stream",
    "wrong_shape": "malformed stream",
    "html": "without a message",
    "stall": "no event from the API for 0.5 s",
    "stall_headers": "no answer from the API",
}


@pytest.mark.parametrize("kind", list(STREAM_FAULTS))
@pytest.mark.slow
def test_broken_streams_are_one_line_and_nothing_partial_is_kept(fake_api, make_app, kind):
    app, agent = make_app()
    fake_api.add(fake.text("first answer"))
    run_query(app, agent, "first")
    broken = fake.stream_error() if kind == "error_event" else fake.faulty(kind, stall=30)
    fake_api.add(*[broken] * (3 if kind == "stall_headers" else 1))  # the SDK retries a request that times out
    result = run_query(app, agent, "second")
    assert result.error and STREAM_FAULTS[kind] in result.error
    assert ("after 2 retries" if kind == "stall_headers" else "not retried") in result.error
    assert "Traceback" not in app.ui.err.file.getvalue()
    assert len(error_lines(app)) == 1
    assert [m["role"] for m in app.conversation.messages] == ["user", "assistant"]
    assert "partial answer" not in str(app.conversation.messages)
    fake_api.add(fake.text("after the fault"))
    assert run_query(app, agent, "third").error is None
    assert app.conversation.messages[-1]["content"][0]["text"] == "after the fault"
    assert fake_api.violations == []


def test_a_tool_call_whose_input_does_not_parse_is_answered_with_an_error_and_not_run(fake_api, make_app):
    app, agent = make_app()
    fake_api.add(fake.faulty("bad_tool_json"), fake.text("I will try again"))
    result = run_query(app, agent, "read app.py")
    assert result.error is None
    answer = fake_api.message_requests()[1]["messages"][-1]["content"][0]
    assert answer["type"] == "tool_result" and answer["is_error"] is True
    assert "not valid JSON" in answer["content"] and "did not run" in answer["content"]
    assert "FEATURES" not in str(fake_api.message_requests()[1])  # read_file never ran
    assert history.problems(app.conversation.messages) == []
    assert "read_file" in app.ui.err.file.getvalue()
    assert fake_api.violations == []


def test_a_complete_stream_keeps_text_tools_and_usage(fake_api, make_app):
    app, agent = make_app()
    fake_api.add(fake.tool_use("read_file", {"path": "app.py"}, text="Reading."), fake.text("One feature."))
    result = run_query(app, agent, "how many features?")
    assert result.error is None and result.stop_reason == "end_turn"
    assert result.usage.output_tokens > 0
    sent = fake_api.message_requests()[1]["messages"]
    assert sent[1]["content"][1]["input"] == {"path": "app.py"}
    assert "FEATURES = ['search']" in sent[2]["content"][0]["content"]
    assert app.ui.out.file.getvalue() == "Reading.\nOne feature.\n"
