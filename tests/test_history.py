"""The history helpers keep every conversation sendable: append, check, repair."""

from agentwinter_core import history


def use(tool_id: str) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": "read_file", "input": {"path": "a.py"}}


def result(tool_id: str, text: str = "ok") -> dict:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": text}


def test_valid_tool_loop_has_no_problems():
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [use("t1"), use("t2")]},
        {"role": "user", "content": [result("t1"), result("t2"), {"type": "text", "text": "and?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    assert history.problems(messages) == []
    assert history.repair(messages) == [{**m, "content": history.blocks(m)} for m in messages]


def test_problems_names_each_rule():
    assert history.problems([{"role": "assistant", "content": "x"}]) == ["the first message is not the user's"]
    assert "messages 0 and 1 are both user" in history.problems(
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    )
    assert "message 0 has no content" in history.problems([{"role": "user", "content": "  "}])
    pending = [{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t1")]}]
    assert history.problems(pending) == ["the last message asks for tools nobody answered"]
    wrong = [*pending, {"role": "user", "content": [result("zzz")]}]
    assert "message 2 does not answer exactly the tool uses before it" in history.problems(wrong)
    late = [*pending, {"role": "user", "content": [{"type": "text", "text": "x"}, result("t1")]}]
    assert "message 2 puts other blocks before its tool results" in history.problems(late)


def test_repair_answers_pending_tool_uses_as_interrupted():
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": [use("t1"), use("t2")]}]
    fixed = history.repair(messages)
    assert history.problems(fixed) == []
    assert fixed[-1]["content"] == history.error_results(["t1", "t2"])
    assert fixed[-1]["content"][0]["is_error"] is True
    assert fixed[-1]["content"][0]["content"] == "Interrupted by user"


def test_repair_completes_a_partly_answered_batch_and_drops_orphans():
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [use("t1"), use("t2")]},
        {"role": "user", "content": [result("t1"), result("orphan")]},
    ]
    fixed = history.repair(messages)
    assert history.problems(fixed) == []
    ids = history.tool_result_ids(fixed[-1])
    assert sorted(ids) == ["t1", "t2"]
    assert "orphan" not in ids


def test_repair_merges_same_roles_and_drops_leading_assistant_and_blank_text():
    messages = [
        {"role": "assistant", "content": "stray"},
        {"role": "user", "content": "a"},
        {"role": "user", "content": [{"type": "text", "text": "   "}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "c"},
        {"role": "assistant", "content": "d"},
    ]
    fixed = history.repair(messages)
    assert history.problems(fixed) == []
    assert [m["role"] for m in fixed] == ["user", "assistant"]
    assert [b["text"] for b in fixed[0]["content"]] == ["a", "b"]
    assert [b["text"] for b in fixed[1]["content"]] == ["c", "d"]


def test_append_user_text_merges_after_tool_results():
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [use("t1")]},
        {"role": "user", "content": history.error_results(["t1"])},
    ]
    history.append_user_text(messages, "next question")
    assert len(messages) == 3
    assert messages[-1]["content"][0]["type"] == "tool_result"
    assert messages[-1]["content"][-1] == {"type": "text", "text": "next question"}
    assert history.problems(messages) == []


def test_append_user_text_starts_a_new_message_after_assistant():
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    history.append_user_text(messages, "next")
    assert messages[-1] == {"role": "user", "content": [{"type": "text", "text": "next"}]}


def test_repair_keeps_valid_messages_as_the_same_objects():
    # the sessions plugin re-sends only what changed, by identity: a no-op repair must not copy
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "grep", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    repaired = history.repair(messages)
    assert repaired == messages and all(a is b for a, b in zip(repaired, messages, strict=True))
    messages.append({"role": "user", "content": [{"type": "text", "text": " "}, {"type": "text", "text": "more"}]})
    repaired = history.repair(messages)
    assert repaired[:4] == messages[:4] and all(a is b for a, b in zip(repaired[:4], messages, strict=False))
    assert repaired[4] is not messages[4] and repaired[4]["content"] == [{"type": "text", "text": "more"}]
