"""Properties of both cleanup policies over generated conversations (hypothesis).

Generated: several turns of tool rounds with parallel tool uses, string and list results (text, images),
error results, thinking or redacted thinking, and sometimes an interrupted last turn. For every policy:
the output is accepted by the fake API's validation (which binds thinking to the history before it),
is deterministic, idempotent, never larger than the input, and keeps the last N results intact.
"""

from __future__ import annotations

import copy
import json

import pytest
from agentwinter_cleanup import policies
from agentwinter_cleanup.settings import Settings
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.conversations import Call, accepted, build, image, results

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
sizes = st.sampled_from([1, 30, 99, 100, 101, 250, 1200, 6000])
contents = st.one_of(
    st.builds(lambda text, n: (text * n)[: n * 3] or "x", texts, sizes),
    st.lists(
        st.one_of(st.builds(lambda t, n: {"type": "text", "text": (t * n)[: n * 3]}, texts, sizes), st.just(image())),
        min_size=1,
        max_size=3,
    ).map(lambda blocks: [b for b in blocks if b.get("type") != "text" or b["text"].strip()] or [image()]),
)
calls = st.builds(
    Call,
    tool=st.sampled_from(["read_file", "search", "git", "list_files"]),
    input=st.fixed_dictionaries({"path": texts}),
    content=contents,
    is_error=st.booleans(),
)
rounds = st.lists(st.lists(calls, min_size=1, max_size=3), max_size=4)


@st.composite
def conversations(draw):
    messages = build(
        draw(st.lists(rounds, min_size=1, max_size=6)), thinking=draw(st.booleans()), redacted=draw(st.booleans())
    )
    if draw(st.booleans()) and messages[-2]["role"] == "user":
        messages = messages[:-1]  # interrupted: the last turn ends with its tool results
    return messages


cache_settings = st.builds(
    Settings,
    keep=st.integers(1, 6),
    trigger=st.sampled_from([1, 200, 2000, 20_000]),
    clear_at_least=st.sampled_from([1, 100, 1000]),
    exclude_tools=st.sampled_from([(), ("git",), ("read_file", "search")]),
)


def dumped(messages) -> bytes:
    return json.dumps(messages, sort_keys=True, separators=(",", ":")).encode()


def check(policy, messages, keep: int) -> None:
    original = copy.deepcopy(messages)
    out = policy(messages).messages
    assert messages == original  # the input is never edited in place
    assert accepted(out)
    assert dumped(policy(copy.deepcopy(messages)).messages) == dumped(out)  # deterministic
    assert dumped(policy(out).messages) == dumped(out)  # idempotent
    assert len(dumped(out)) <= len(dumped(messages))
    assert policies.estimate_tokens(out) <= policies.estimate_tokens(messages)
    before, after = results(messages), results(out)
    assert [(r["tool_use_id"], r.get("is_error")) for r in after] == [
        (r["tool_use_id"], r.get("is_error")) for r in before
    ]
    assert after[-keep:] == before[-keep:] if before else after == []
    assert all(r["content"] for r in after)


@settings(max_examples=150, deadline=None)
@given(conversations())
@pytest.mark.slow
def test_original_policy_properties(messages):
    check(policies.original, messages, keep=5)


@settings(max_examples=150, deadline=None)
@given(conversations(), cache_settings)
@pytest.mark.slow
def test_cache_aware_policy_properties(messages, chosen):
    check(lambda m: policies.cache_aware(m, chosen), messages, keep=chosen.keep)
