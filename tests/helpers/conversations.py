"""Small, valid Messages-API histories for cleanup tests, with thinking signed as the fake API signs it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import fake_api as fake

Message = dict[str, Any]
_ids = itertools.count(1)


@dataclass
class Call:
    """One tool call and its result (``content`` a string or a list of blocks)."""

    tool: str = "read_file"
    input: dict[str, Any] = field(default_factory=lambda: {"path": "src/app.py"})
    content: Any = "x" * 400
    is_error: bool = False


def image(data: str = "iVBORw0KGgo=") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


def build(turns: list[list[list[Call]]], thinking: bool = False, redacted: bool = False) -> list[Message]:
    """Per turn, per round, the calls of one parallel batch; each turn ends with a text answer.
    With ``thinking`` every assistant message opens with a thinking block bound to the history before it."""
    messages: list[Message] = []
    for number, rounds in enumerate(turns):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"question {number}"}]})
        for calls in rounds:
            uses = [
                {"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": c.tool, "input": c.input} for c in calls
            ]
            messages.append({"role": "assistant", "content": [*_thought(messages, thinking, redacted), *uses]})
            results = [
                {"type": "tool_result", "tool_use_id": use["id"], "content": call.content}
                | ({"is_error": True} if call.is_error else {})
                for use, call in zip(uses, calls, strict=True)
            ]
            messages.append({"role": "user", "content": results})
        answer = {"type": "text", "text": f"answer {number}"}
        messages.append({"role": "assistant", "content": [*_thought(messages, thinking, redacted), answer]})
    return messages


def _thought(before: list[Message], thinking: bool, redacted: bool) -> list[dict[str, Any]]:
    if not thinking:
        return []
    thought = f"thinking after {len(before)} messages"
    if redacted:
        return [{"type": "redacted_thinking", "data": fake.redacted_data(thought, before)}]
    return [{"type": "thinking", "thinking": thought, "signature": fake.signature(thought, before)}]


def accepted(messages: list[Message]) -> bool:
    """Whether the fake Messages API (validating like the real one) accepts this history plus a question."""
    follow = [*messages, {"role": "user", "content": [{"type": "text", "text": "next"}]}]
    if messages and messages[-1]["role"] == "user":
        follow = messages
    fake.validate({"model": "m", "max_tokens": 1, "messages": follow})
    return True


def results(messages: list[Message]) -> list[dict[str, Any]]:
    return [b for m in messages if m["role"] == "user" for b in m["content"] if b.get("type") == "tool_result"]
