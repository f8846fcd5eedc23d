"""The tool-use loop through the real anthropic SDK against the local fake Messages API."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace

import pytest

from agentwinter_core import history, hookimpl
from agentwinter_core.query import run_query
from agentwinter_core.tools import Tool
from tests.helpers import fake_api as fake
from tests.helpers.app import core_app, talk_to
from tests.helpers.memory import Memory


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("FEATURES = ['search', 'export', 'sync']\n")
    return root


@pytest.fixture
def make_app(fake_api, project, monkeypatch):
    """An in-process agentwinter (defaults only) talking to the fake API; output captured."""
    talk_to(fake_api, monkeypatch, project.parent / "none.toml")

    def make(*plugins):
        app, agent = core_app(project, *plugins)
        app.ui.stdout_text = lambda: app.ui.out.file.getvalue()  # type: ignore[attr-defined]
        app.ui.stderr_text = lambda: app.ui.err.file.getvalue()  # type: ignore[attr-defined]
        return app, agent

    return make


def assert_valid(fake_api):
    assert fake_api.violations == []


def test_two_queries_with_a_read_file_in_between_stateless_core(fake_api, make_app):
    fake_api.add(
        fake.tool_use("read_file", {"path": "app.py"}, text="Let me read it."),
        fake.text("There are 3 features."),
        fake.text("You asked about features."),
    )
    app, agent = make_app()
    first = run_query(app, agent, "how many features?")
    second = run_query(app, agent, "what did I ask?")
    assert first.error is None and second.error is None
    requests = fake_api.message_requests()
    assert len(requests) == 3
    tool_result = requests[1]["messages"][-1]["content"][0]
    assert tool_result["type"] == "tool_result"
    assert "FEATURES = ['search', 'export', 'sync']" in str(tool_result["content"])
    # without a sessions plugin the core remembers nothing: the second query starts from zero
    assert requests[2]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "what did I ask?"}]}]
    out = app.ui.stdout_text()
    assert "There are 3 features." in out and "You asked about features." in out
    assert "read_file app.py" in app.ui.stderr_text()
    assert requests[0]["cache_control"] == {"type": "ephemeral"}
    assert {t["name"] for t in requests[0]["tools"]} >= {"list_files", "read_file", "search", "git"}
    assert_valid(fake_api)


def test_usage_reaches_after_response(fake_api, make_app):
    seen = []

    class Recorder:
        @hookimpl
        def after_response(self, result):
            seen.append(result)

    fake_api.add(fake.text("hi"))
    app, agent = make_app(Recorder())
    run_query(app, agent, "hello")
    assert len(seen) == 1
    assert seen[0].usage.input_tokens + seen[0].usage.cache_creation_input_tokens > 0
    assert seen[0].usage.output_tokens > 0
    assert seen[0].changed


def test_interrupt_during_a_tool_answers_pending_uses(fake_api, make_app):
    def interrupting(_input, _ctx):
        raise KeyboardInterrupt

    class SlowTool:
        @hookimpl
        def register_tools(self):
            return [Tool("slow", "a tool that gets interrupted", {"type": "object"}, interrupting)]

    fake_api.add(fake.tool_uses([("slow", {}), ("read_file", {"path": "app.py"})]), fake.text("ok"))
    app, agent = make_app(SlowTool(), Memory())
    result = run_query(app, agent, "run the slow tool")
    assert result.interrupted
    last = app.conversation.messages[-1]
    assert [b["content"] for b in last["content"]] == [history.INTERRUPTED, history.INTERRUPTED]
    assert all(b["is_error"] for b in last["content"])
    assert history.problems(app.conversation.messages) == []
    run_query(app, agent, "try again")
    assert_valid(fake_api)
    sent = fake_api.message_requests()[-1]["messages"][-1]["content"]
    assert [b["type"] for b in sent] == ["tool_result", "tool_result", "text"]  # merged after the results
    assert sent[-1] == {"type": "text", "text": "try again"}


def test_interrupt_while_streaming_discards_the_partial_turn(fake_api, make_app):
    # the stream holds after its first words; Ctrl-C (a real SIGINT, to the thread reading the stream) lands then
    fake_api.add(replace(fake.text("a long answer " * 20), fault="stall", stall=60), fake.text("second answer"))
    app, agent = make_app(Memory())
    main = threading.main_thread().ident
    assert main is not None
    ctrl_c = threading.Thread(target=lambda: fake_api.stalled.wait(60) and signal.pthread_kill(main, signal.SIGINT))
    ctrl_c.start()
    try:
        result = run_query(app, agent, "tell me a story")
    finally:
        fake_api.released.set()
        ctrl_c.join()
    assert result.interrupted
    assert app.conversation.messages == []  # nothing came back: the query is forgotten
    assert run_query(app, agent, "short please").error is None
    assert_valid(fake_api)
    assert [m["role"] for m in app.conversation.messages] == ["user", "assistant"]


def test_max_tokens_in_a_tool_use_is_not_kept(fake_api, make_app):
    fake_api.add(fake.max_tokens_cut("read_file"), fake.text("fine"))
    app, agent = make_app(Memory())
    result = run_query(app, agent, "read everything")
    assert result.stop_reason == "max_tokens"
    assert not any(b.get("type") == "tool_use" for m in app.conversation.messages for b in history.blocks(m))
    assert history.problems(app.conversation.messages) == []
    assert run_query(app, agent, "again").error is None
    assert_valid(fake_api)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (401, "authentication_error", "API key was rejected"),
        (429, "rate_limit_error", "rate limited"),
        (529, "overloaded_error", "overloaded"),
        (400, "invalid_request_error", "refused the request"),
        (500, "api_error", "internal error"),
    ],
)
def test_api_errors_are_one_line_and_the_conversation_survives(fake_api, make_app, status, kind, expected):
    fake_api.add(fake.text("first answer"))
    app, agent = make_app(Memory())
    agent._get_client()  # build the client, then make retries instant for the test
    agent._client = agent._client.with_options(max_retries=0)
    run_query(app, agent, "first")
    fake_api.fail_always(status, kind)
    result = run_query(app, agent, "second")
    fake_api.clear_failure()
    assert result.error and expected in result.error and str(status) in result.error
    errors = [line for line in app.ui.stderr_text().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in app.ui.stderr_text()
    assert [m["role"] for m in app.conversation.messages] == ["user", "assistant"]  # failed query not kept
    fake_api.add(fake.text("third answer"))
    assert run_query(app, agent, "third").error is None
    assert_valid(fake_api)


def test_stream_error_event_is_reported(fake_api, make_app):
    fake_api.add(fake.stream_error(after_text="partial"))
    app, agent = make_app()
    result = run_query(app, agent, "hello")
    assert result.error and "stream" in result.error
    assert history.problems(app.conversation.messages) == []


def test_missing_api_key_says_how_to_set_it(fake_api, make_app, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    app, agent = make_app()
    result = run_query(app, agent, "hello")
    assert result.error and "ANTHROPIC_API_KEY" in result.error and "export" in result.error
    assert fake_api.message_requests() == []


def test_network_down_is_one_line(make_app, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    app, agent = make_app()
    agent._get_client()
    agent._client = agent._client.with_options(max_retries=0)
    result = run_query(app, agent, "hello")
    assert result.error and "cannot reach the API at http://127.0.0.1:9" in result.error


def test_thinking_blocks_are_sent_back_verbatim(fake_api, make_app):
    fake_api.add(
        fake.with_thinking(fake.tool_use("read_file", {"path": "app.py"}), "I should read app.py"),
        fake.text("done"),
    )
    app, agent = make_app()
    assert run_query(app, agent, "think").error is None
    assert_valid(fake_api)
    sent = fake_api.message_requests()[1]["messages"][1]["content"][0]
    assert sent["type"] == "thinking" and sent["signature"]


def test_a_tool_error_is_reported_to_the_model_not_the_person(fake_api, make_app):
    fake_api.add(fake.tool_use("read_file", {"path": "../etc/passwd"}), fake.text("cannot"))
    app, agent = make_app()
    assert run_query(app, agent, "read it").error is None
    result = fake_api.message_requests()[1]["messages"][-1]["content"][0]
    assert result["is_error"] is True and "outside" in str(result["content"])
