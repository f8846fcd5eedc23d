"""The cleanup plugin: both policies on hand-built histories, its settings, and its hook in a real query."""

from __future__ import annotations

import json

import pytest
from agentwinter_cleanup import policies
from agentwinter_cleanup.settings import Settings

from agentwinter_core import hookimpl
from agentwinter_core.config import Config, load_config
from agentwinter_core.query import run_command, run_query
from tests.helpers import fake_api as fake
from tests.helpers.app import core_app, talk_to
from tests.helpers.conversations import Call, accepted, build, image, results
from tests.helpers.memory import Memory

SMALL = Settings(trigger=100, clear_at_least=1, keep=2)  # clears as soon as anything is worth it


def size(messages) -> int:
    return len(json.dumps(messages))


# ---- the original policy ---------------------------------------------------------------------------
def test_original_leaves_ten_messages_or_fewer_alone():
    messages = build([[[Call(), Call()] for _ in range(4)]])  # 10 messages, 8 results
    assert len(messages) == 10
    assert policies.original(messages).messages is messages
    longer = build([[[Call(), Call()] for _ in range(4)], []])  # 12: now the 3 oldest results go
    assert len(results(policies.original(longer).cleared and policies.original(longer).messages)) == 8
    assert len(policies.original(longer).cleared) == 3


def test_original_summarizes_all_but_the_last_five_results():
    long = "".join(f"line {n}\n" for n in range(100))
    calls = [Call(content=long), Call(content=[{"type": "text", "text": long}, image()]), Call(content=long)]
    calls += [Call(content=long, is_error=True)] + [Call(content=long) for _ in range(5)]
    messages = build([[[call] for call in calls[:4]], [[call] for call in calls[4:]]])
    outcome = policies.original(messages)
    before, after = results(messages), results(outcome.messages)
    assert [r["content"] for r in after[:4]] == [f"[Summarized: {long[:100]}...]"] * 3 + [
        f"[Summarized: {long[:100]}...]"
    ]
    assert after[1]["content"] == f"[Summarized: {(long + chr(10) + '[image]')[:100]}...]"
    assert after[-5:] == before[-5:]
    assert [r["tool_use_id"] for r in after] == [r["tool_use_id"] for r in before]
    assert after[3]["is_error"] is True
    texts = [b for m in outcome.messages for b in m["content"] if b["type"] == "text"]
    assert texts == [b for m in messages for b in m["content"] if b["type"] == "text"]
    assert accepted(outcome.messages) and size(outcome.messages) < size(messages)
    assert len(outcome.cleared) == 4 and outcome.cleared[0].tool == "read_file"
    assert policies.original(outcome.messages).messages is outcome.messages  # idempotent: nothing left to do


def test_original_never_makes_a_result_bigger_or_empty():
    messages = build([[[Call(content="tiny")] for _ in range(8)]])
    assert policies.original(messages).messages is messages
    messages = build([[[Call(content=[image()])] for _ in range(8)]])
    cleaned = results(policies.original(messages).messages)
    assert cleaned[0]["content"] == "[Summarized: [image]...]" and all(r["content"] for r in cleaned)


# ---- the cache-aware policy --------------------------------------------------------------------------
def test_cache_aware_waits_for_the_trigger_and_a_worthwhile_gain():
    messages = build([[[Call(content="y" * 4000)] for _ in range(6)]])  # ~6,000 tokens
    assert policies.cache_aware(messages, Settings(trigger=10_000)).messages is messages
    assert policies.cache_aware(messages, Settings(trigger=1000, clear_at_least=5000)).messages is messages
    outcome = policies.cache_aware(messages, Settings(trigger=1000, clear_at_least=2000, keep=2))
    after = results(outcome.messages)
    assert after[-2:] == results(messages)[-2:]
    assert all(r["content"].startswith("[Cleared: read_file ") for r in after[:4])
    assert '{"path":"src/app.py"} (output, 4,000 chars). Run it again if you need it.]' in after[0]["content"]
    assert outcome.tokens_removed > 2000 and accepted(outcome.messages)


def test_cache_aware_keeps_excluded_tools_and_marks_errors():
    calls = [Call(tool="git", input={"args": "log"}, content="g" * 900), Call(content="e" * 900, is_error=True)]
    messages = build([[[c] for c in calls] + [[Call()], [Call()]]])
    outcome = policies.cache_aware(messages, Settings(trigger=10, clear_at_least=1, keep=2, exclude_tools=("git",)))
    after = results(outcome.messages)
    assert after[0]["content"] == "g" * 900
    assert after[1]["is_error"] is True and "(error, 900 chars)" in after[1]["content"]


def test_thinking_after_the_first_edit_is_dropped_and_the_api_accepts_the_result():
    messages = build([[[Call(content="z" * 2000)]], [[Call(content="z" * 2000)], [Call()]], [[Call()]]], thinking=True)
    edited_only = [dict(m) for m in messages]
    first = next(i for i, m in enumerate(messages) if any(b["type"] == "tool_result" for b in m["content"]))
    edited_only[first] = {**messages[first], "content": [{**messages[first]["content"][0], "content": "short"}]}
    with pytest.raises(fake.Invalid, match="bound to a different conversation"):
        accepted(edited_only)  # what a cleanup that forgets the thinking would send

    outcome = policies.cache_aware(messages, SMALL)
    assert accepted(outcome.messages)
    kinds = [[b["type"] for b in m["content"]] for m in outcome.messages if m["role"] == "assistant"]
    assert kinds[0] == ["thinking", "tool_use"]  # before the first edit: untouched
    assert all("thinking" not in k for k in kinds[1:])
    for policy in (policies.original, lambda m: policies.cache_aware(m, SMALL)):
        assert accepted(policy(build([[[Call()] for _ in range(8)]], thinking=True, redacted=True)).messages)


def test_an_interrupted_tool_loop_with_thinking_is_left_for_the_next_turn():
    messages = build([[[Call(content="z" * 2000)] for _ in range(4)]], thinking=True)[:-1]  # no final answer
    assert messages[-1]["role"] == "user"
    assert policies.cache_aware(messages, SMALL).messages is messages


def test_untouched_messages_stay_the_same_objects():
    messages = build([[[Call(content="z" * 2000)] for _ in range(4)]])
    cleaned = policies.cache_aware(messages, SMALL).messages
    assert cleaned[0] is messages[0] and cleaned[-1] is messages[-1] and cleaned[2] is not messages[2]


# ---- settings ----------------------------------------------------------------------------------------
def test_settings_from_the_config_file_then_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('[cleanup]\npolicy = "original"\nkeep = 6\nexclude_tools = ["git", "search"]\ntrigger = -3\n')
    warnings: list[str] = []
    settings = Settings.load(load_config(path), warnings.append)
    assert (settings.policy, settings.keep, settings.exclude_tools) == ("original", 6, ("git", "search"))
    assert settings.trigger == Settings.trigger
    refused = f"config file {path}: [cleanup] trigger must be a positive whole number, not -3; using {Settings.trigger}"
    assert warnings == [refused]
    monkeypatch.setenv("AGENTWINTER_CLEANUP_POLICY", "cache-aware")
    monkeypatch.setenv("AGENTWINTER_CLEANUP_EXCLUDE_TOOLS", "list_files, git")
    monkeypatch.setenv("AGENTWINTER_CLEANUP_CLEAR_AT_LEAST", "500")
    settings = Settings.load(load_config(path), warnings.append)
    assert (settings.policy, settings.clear_at_least) == ("cache-aware", 500)
    assert settings.exclude_tools == ("git", "list_files")
    monkeypatch.setenv("AGENTWINTER_CLEANUP_POLICY", "aggressive")
    assert Settings.load(Config(), warnings.append).policy == "cache-aware"
    assert warnings[-1] == (
        "AGENTWINTER_CLEANUP_POLICY must be one of cache-aware, original, off, not 'aggressive'; using 'cache-aware'"
    )


# ---- the hook in a real query --------------------------------------------------------------------------
@pytest.fixture
def make_app(fake_api, tmp_path, monkeypatch):
    talk_to(fake_api, monkeypatch, tmp_path / "none.toml")
    for name, value in {"TRIGGER": "300", "CLEAR_AT_LEAST": "100", "KEEP": "1"}.items():
        monkeypatch.setenv(f"AGENTWINTER_CLEANUP_{name}", value)
    project = tmp_path / "project"
    project.mkdir()
    (project / "big.py").write_text("".join(f"value_{n} = {n}\n" for n in range(400)))

    return lambda *plugins, disabled=("sessions",): core_app(project, *plugins, disabled=disabled)


def read_twice(fake_api, app, agent) -> list[dict]:
    for _ in range(3):
        fake_api.add(fake.tool_use("read_file", {"path": "big.py"}), fake.text("read it"))
    for question in ("read big.py", "again", "once more"):
        run_query(app, agent, question)
    assert fake_api.violations == []
    return fake_api.message_requests()[-2]["messages"]


def test_the_plugin_clears_old_results_between_queries_and_reports_it(fake_api, make_app):
    app, agent = make_app(Memory())
    sent = read_twice(fake_api, app, agent)
    assert results(sent)[0]["content"].startswith('[Cleared: read_file {"path":"big.py"} (output, ')
    assert "🧹 Cleared 1 old tool result (~" in app.ui.err.file.getvalue()
    stats = app.conversation.metadata["cleanup"]
    assert stats["results_cleared"] == 2 and stats["clears"] == 2 and stats["tokens_removed"] > 1000
    run_command(app, "!context")
    shown = app.ui.out.file.getvalue()
    assert "removed so far: 2 tool results" in shown and '- read_file `{"path":"big.py"}`' in shown
    run_command(app, "!help")
    assert "!context" in app.ui.out.file.getvalue()


def test_a_third_party_cleanup_wins_and_disabling_turns_cleanup_off(fake_api, make_app):
    class KeepEverythingButSay:
        calls = 0

        @hookimpl
        def cleanup_messages(self, messages):
            KeepEverythingButSay.calls += 1
            return messages

    plugin = KeepEverythingButSay()
    app, agent = make_app(Memory(), plugin)
    try:
        sent = read_twice(fake_api, app, agent)
        assert KeepEverythingButSay.calls == 3 and "Cleared" not in json.dumps(sent)
    finally:
        app.pm.unregister(plugin)
    app, agent = make_app(Memory(), disabled=("sessions", "cleanup"))
    assert "Cleared" not in json.dumps(read_twice(fake_api, app, agent))
    run_command(app, "!context")
    assert "unknown command !context" in app.ui.err.file.getvalue()
