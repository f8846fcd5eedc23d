"""The benchmark workload hits its targets, is a valid Messages-API history and is deterministic."""

from __future__ import annotations

import itertools

import pytest

from agentwinter_core.history import problems
from bench.workload import all_messages, build_session, describe, dump, result_chars, stats


@pytest.fixture(scope="module")
def turns():
    return build_session()


@pytest.fixture(scope="module")
def messages(turns):
    return all_messages(turns)


def blocks_of(message, kind):
    return [block for block in message["content"] if block["type"] == kind]


def test_targets(turns, messages):
    info = stats(messages)
    assert len(turns) == 40
    assert 205 <= info["messages"] <= 235
    assert 400_000 <= info["bytes"] <= 600_000
    assert info["output_chars"][0] >= 200 and info["output_chars"][1] <= 18_000
    assert info["errors"] >= 1 and info["list_results"] >= 1 and info["thinking"] >= 1


def test_every_turn_has_the_standard_shape(turns):
    for turn in turns:
        query, *rounds, answer = turn
        assert query["role"] == "user" and [b["type"] for b in query["content"]] == ["text"]
        assert 1 <= len(rounds) // 2 <= 4 and len(rounds) % 2 == 0
        for ask, results in zip(rounds[::2], rounds[1::2], strict=True):
            assert ask["role"] == "assistant" and results["role"] == "user"
            assert 1 <= len(blocks_of(ask, "tool_use")) <= 3 and blocks_of(ask, "text")
        assert answer["role"] == "assistant" and not blocks_of(answer, "tool_use")
        assert 200 <= len(blocks_of(answer, "text")[0]["text"]) <= 1500


def test_valid_conversation(messages):
    assert messages[0]["role"] == "user"
    for previous, message in itertools.pairwise(messages):
        assert previous["role"] != message["role"]
    for index, message in enumerate(messages):
        asked = [b["id"] for b in blocks_of(message, "tool_use")]
        if asked:  # answered in the very next message, results first, nothing else
            reply = messages[index + 1]["content"]
            assert [b["tool_use_id"] for b in reply[: len(asked)]] == asked
            assert all(b["type"] == "tool_result" for b in reply[: len(asked)])
    ids = [b["id"] for m in messages for b in blocks_of(m, "tool_use")]
    assert len(ids) == len(set(ids))
    assert problems(messages) == []  # the core's own check agrees


def test_no_blank_text_and_signed_thinking(messages):
    for message in messages:
        for block in message["content"]:
            if block["type"] == "text":
                assert block["text"].strip()
            if block["type"] == "thinking":
                assert block["signature"] and message["content"][0] is block
            if block["type"] == "tool_result":
                assert result_chars(block) > 0


def test_tool_result_forms(messages):
    results = [b for m in messages for b in blocks_of(m, "tool_result")]
    assert all(isinstance(r["content"], str | list) for r in results)
    assert sum(isinstance(r["content"], str) for r in results) > 0.8 * len(results)
    assert all(r["is_error"] is True for r in results if "is_error" in r)
    listed = [r for r in results if isinstance(r["content"], list)]
    assert all(b["type"] == "text" for r in listed for b in r["content"])


def test_deterministic_per_seed():
    assert dump(all_messages(build_session(seed=0))) == dump(all_messages(build_session(seed=0)))
    assert dump(all_messages(build_session(seed=0))) != dump(all_messages(build_session(seed=1)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_hold_for_other_seeds(seed):
    info = stats(all_messages(build_session(seed=seed)))
    assert 205 <= info["messages"] <= 235 and 400_000 <= info["bytes"] <= 600_000


def test_describe_prints_the_shape(capsys):
    info = describe()
    out = capsys.readouterr().out
    assert f"{info['messages']} messages" in out and "tool results" in out
