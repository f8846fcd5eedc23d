"""Per-query work that reuses the last query's: the same answers as starting from scratch, every time."""

from __future__ import annotations

from agentwinter_cleanup import policies
from agentwinter_cleanup.settings import Settings

from agentwinter_core import history
from bench.workload import all_messages, build_session

PENDING = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "git", "input": {}}]}
ORPHAN = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nobody", "content": "?"}]}


def test_repairs_query_after_query_equal_a_full_repair():
    repairs = history.Repairs()
    messages: list[dict] = []
    for number, turn in enumerate(build_session(12, seed=3)):
        messages.extend(turn)
        if number % 3 == 1:  # an interrupted tool loop, then a stray result: both need repairing
            messages.extend([PENDING, ORPHAN])
        if number % 4 == 2:  # a message replaced (never edited in place) in the middle
            messages[3] = {**messages[3], "content": [*history.blocks(messages[3])]}
        fixed = repairs.repair(messages)
        assert fixed == history.repair(messages)
        assert history.problems(fixed) == []
        messages = fixed


def test_the_first_valid_messages_are_taken_as_they_are():
    messages = all_messages(build_session(4, seed=1))
    fixed = history.repair([*messages, ORPHAN, PENDING], valid=len(messages))
    # the stray result goes, the pending call joins the last answer and gets its error result
    assert all(a is b for a, b in zip(fixed, messages[:-1], strict=False)) and len(fixed) == len(messages) + 1
    assert fixed[-1]["content"][0]["tool_use_id"] == "toolu_x" and history.problems(fixed) == []


def test_the_token_estimate_follows_replaced_and_removed_messages():
    messages = all_messages(build_session(10, seed=2))

    def fresh(found: list[dict]) -> int:
        return policies.tokens(sum(policies.message_chars(m) for m in found))

    assert policies.estimate_tokens(messages) == fresh(messages)
    shorter = [*messages[:5], {"role": "user", "content": [{"type": "text", "text": "x" * 4000}]}, *messages[6:]]
    assert policies.estimate_tokens(shorter) == fresh(shorter) != fresh(messages)
    assert policies.estimate_tokens(messages[:7]) == fresh(messages[:7])
    assert policies.estimate_tokens(messages) == fresh(messages)


def test_cache_aware_clears_as_it_did_when_it_walked_every_result():
    """The shortcut (too little left to clear: no clear) never changes what cache_aware returns."""
    settings = Settings()
    for seed in (0, 4):
        history_so_far: list[dict] = []
        clears = 0
        for turn in build_session(40, seed=seed):
            messages = [*history_so_far, *turn]
            outcome = policies.cache_aware(messages, settings)
            clearable = policies.sizes(messages)[1]
            walked = sum(policies.clearable_chars(message) for message in messages)
            assert clearable == walked
            clears += outcome.messages is not messages
            history_so_far = outcome.messages
        assert clears >= 2
