"""Keeping a conversation valid for the Messages API: append, check and repair.

The API demands: the first message is the user's, roles alternate, content is never empty, and
every ``tool_use`` is answered by a ``tool_result`` (same id, placed first) in the very next message.
An interrupt, a crash or a hand-edited store can break any of these, so loads and aborts repair.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from agentwinter_core.state import Message

INTERRUPTED = "Interrupted by user"


def blocks(message: Message) -> list[dict[str, Any]]:
    """A message's content as a list of blocks (the API also accepts a bare string)."""
    return content_blocks(message.get("content"))


def content_blocks(content: Any) -> list[dict[str, Any]]:
    """Message or tool_result content (a string or a list of blocks) as a list of blocks."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    return [block for block in content or [] if isinstance(block, dict)] if isinstance(content, list) else []


def tool_use_ids(message: Message) -> list[str]:
    return [b["id"] for b in blocks(message) if b.get("type") == "tool_use" and "id" in b]


def tool_result_ids(message: Message) -> list[str]:
    return [b.get("tool_use_id", "") for b in blocks(message) if b.get("type") == "tool_result"]


def query_starts(messages: list[Message]) -> list[int]:
    """Indexes of the messages that open a query: the person's words, no tool results. Cutting a
    history at one of them keeps it valid."""
    return [
        index
        for index, message in enumerate(messages)
        if message.get("role") == "user"
        and not tool_result_ids(message)
        and any(b.get("type") == "text" for b in blocks(message))
    ]


def append_user_text(messages: list[Message], text: str) -> None:
    """Add the user's words; merged into a trailing user message (e.g. interrupted tool results)."""
    block = {"type": "text", "text": text}
    if messages and messages[-1].get("role") == "user":
        messages[-1] = {**messages[-1], "content": [*blocks(messages[-1]), block]}
    else:
        messages.append({"role": "user", "content": [block]})


def error_results(ids: list[str], text: str = INTERRUPTED) -> list[dict[str, Any]]:
    return [{"type": "tool_result", "tool_use_id": i, "content": text, "is_error": True} for i in ids]


def problems(messages: list[Message]) -> list[str]:
    """Why the API would refuse this history; empty when it is valid."""
    found: list[str] = []
    if messages and messages[0].get("role") != "user":
        found.append("the first message is not the user's")
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            found.append(f"message {index} has role {role!r}")
        if index and role == messages[index - 1].get("role"):
            found.append(f"messages {index - 1} and {index} are both {role}")
        if not _has_content(message):
            found.append(f"message {index} has no content")
        asked = tool_use_ids(messages[index - 1]) if index else []
        answered = tool_result_ids(message) if role == "user" else []
        if sorted(asked) != sorted(answered):
            found.append(f"message {index} does not answer exactly the tool uses before it")
        elif answered and any(b.get("type") != "tool_result" for b in blocks(message)[: len(answered)]):
            found.append(f"message {index} puts other blocks before its tool results")
    if messages and tool_use_ids(messages[-1]):
        found.append("the last message asks for tools nobody answered")
    return found


def repair(messages: list[Message], note: str = INTERRUPTED, valid: int = 0) -> list[Message]:
    """A valid history keeping everything that can be kept.

    Pending tool uses get an ``is_error`` result saying ``note``; orphan tool results, empty
    messages and leading assistant messages are dropped; same-role neighbours are merged.
    The first ``valid`` messages are known valid (an earlier repair returned them): they are taken
    as they are, and only the rest is checked.
    """
    fixed: list[Message] = list(messages[:valid])  # repair keeps a valid history's messages as they are
    for message in messages[valid:]:
        if message.get("role") not in ("user", "assistant") or (not fixed and message["role"] != "user"):
            continue
        content = blocks(message)
        if message["role"] == "user":
            asked = set(tool_use_ids(fixed[-1])) if fixed and fixed[-1]["role"] == "assistant" else set()
            content = [b for b in content if b.get("type") != "tool_result" or b.get("tool_use_id") in asked]
        content = [b for b in content if not _blank_text(b)]
        # Only filtered, never reordered: as long as the original list, nothing was dropped. Such a message
        # stays the very same object, so whatever keys on identity (the sessions' incremental save) holds.
        untouched = isinstance(message.get("content"), list) and len(content) == len(message["content"])
        if content:
            _add(fixed, message if untouched else {**message, "content": content}, note)
    if fixed and (pending := tool_use_ids(fixed[-1])):
        fixed.append({"role": "user", "content": error_results(pending, note)})
    return fixed


class Repairs:
    """Repairs one growing history query after query, at the cost of what each query added.

    What the last repair returned is valid; the messages that are still the very same objects (messages
    are never edited in place, only replaced) need no second look.
    """

    def __init__(self) -> None:
        self._last: tuple[Message, ...] = ()  # a copy: the caller's list grows in place

    def repair(self, messages: list[Message], note: str = INTERRUPTED) -> list[Message]:
        fixed = repair(messages, note, valid=same_prefix(self._last, messages))
        self._last = tuple(fixed)
        return fixed


def same_prefix(old: Sequence[Any], new: Sequence[Any]) -> int:
    """How many leading items of ``new`` are the very same objects as those of ``old``."""
    if all(map(operator.is_, old, new)):  # map stops at the shorter one; the usual case, at C speed
        return min(len(old), len(new))
    count = 0
    for before, now in zip(old, new, strict=False):
        if before is not now:
            break
        count += 1
    return count


def _add(fixed: list[Message], message: Message, note: str) -> None:
    """Append, answering the previous message's unanswered tool uses and merging same roles."""
    previous = fixed[-1] if fixed else None
    if previous and previous["role"] == "assistant":
        answered = set(tool_result_ids(message)) if message["role"] == "user" else set()
        missing = [i for i in tool_use_ids(previous) if i not in answered]
        if missing and message["role"] == "user":
            message = {**message, "content": [*error_results(missing, note), *message["content"]]}
        elif missing:
            fixed.append({"role": "user", "content": error_results(missing, note)})
    previous = fixed[-1] if fixed else None
    if previous and previous["role"] == message["role"]:
        merged = [*previous["content"], *message["content"]]
        results = [b for b in merged if b.get("type") == "tool_result"]
        fixed[-1] = {**previous, "content": results + [b for b in merged if b.get("type") != "tool_result"]}
    else:
        fixed.append(message)


def _blank_text(block: dict[str, Any]) -> bool:
    return block.get("type") == "text" and not str(block.get("text", "")).strip()


def _has_content(message: Message) -> bool:
    content: Any = message.get("content")
    if isinstance(content, str):
        return bool(content.strip())
    return bool(content) and not all(_blank_text(b) for b in content if isinstance(b, dict))
