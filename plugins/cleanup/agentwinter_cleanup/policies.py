"""The cleanup policies, as pure functions of a message list (no I/O, no clock: same input, same bytes).

Both policies only rewrite ``tool_result`` content, and return the very same dict objects for messages
they leave alone (the sessions store then re-sends only what changed). Editing an earlier message
invalidates every later thinking block (the API binds thinking to the exact history before it), so the
thinking blocks after the first edited message are dropped with the edit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agentwinter_cleanup.settings import Settings
from agentwinter_core.api import Message, history

SUMMARIZED = "[Summarized: "
CLEARED = "[Cleared: "
IMAGE_TOKENS = 1_600  # what the API bills for a typical screenshot-sized image
NO_REASONING = {"type": "text", "text": "(earlier reasoning omitted)"}  # an assistant message is never empty
Position = tuple[int, int]  # (message index, block index) of a tool_result


@dataclass(frozen=True)
class Cleared:
    """One tool result that was shrunk: what it was, so people (and !context) know what went."""

    tool: str
    input: str
    chars: int
    tokens: int  # estimated tokens removed

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "input": self.input, "chars": self.chars, "tokens": self.tokens}


@dataclass
class Outcome:
    messages: list[Message]
    cleared: list[Cleared] = field(default_factory=list)

    @property
    def tokens_removed(self) -> int:
        return sum(item.tokens for item in self.cleared)


# ---- the policies ----------------------------------------------------------------------------------
def original(messages: list[Message], keep: int = 5, min_messages: int = 10) -> Outcome:
    """agentwinter's first policy: past 10 messages, every tool result but the last 5 becomes
    ``[Summarized: <first 100 characters>...]``. Simple, but it edits one more result on almost every
    turn, so the prompt cache is rewritten from that point every turn."""
    if len(messages) <= min_messages:
        return Outcome(messages)
    uses = tool_uses_by_id(messages)
    replacements: dict[Position, str] = {}
    for position in result_positions(messages)[: -keep or None]:
        block = messages[position[0]]["content"][position[1]]
        text = content_text(block.get("content"))
        summary = f"{SUMMARIZED}{text[:100]}...]"
        if not text.startswith(SUMMARIZED) and shrinks(block.get("content"), summary):
            replacements[position] = summary
    return _apply(messages, replacements, uses)


def cache_aware(messages: list[Message], settings: Settings) -> Outcome:
    """Clear old tool results in one batch, only once the context passes ``trigger`` tokens and only if
    at least ``clear_at_least`` tokens come off: between batches every turn's prompt is the previous
    turn's plus new messages, so it is read from the cache (0.1x) instead of written again (1.25x)."""
    chars, clearable = sizes(messages)
    if tokens(chars) <= settings.trigger or _open_tool_loop_with_thinking(messages):
        return Outcome(messages)
    # Each cleared result saves at most a quarter of its characters: too little to clear means no clear,
    # found without looking at every result again.
    if (clearable - _recent_clearable(messages, settings.keep)) / 4 < settings.clear_at_least:
        return Outcome(messages)
    uses = tool_uses_by_id(messages)
    replacements: dict[Position, str] = {}
    for position in result_positions(messages)[: -settings.keep or None]:
        block = messages[position[0]]["content"][position[1]]
        use = uses.get(block.get("tool_use_id", ""), {})
        if use.get("name") in settings.exclude_tools or content_text(block.get("content")).startswith(CLEARED):
            continue
        note = cleared_note(use, content_chars(block.get("content")), bool(block.get("is_error")))
        if shrinks(block.get("content"), note):
            replacements[position] = note
    outcome = _apply(messages, replacements, uses)
    return outcome if outcome.tokens_removed >= settings.clear_at_least else Outcome(messages)


def cleared_note(use: dict[str, Any], chars: int, is_error: bool) -> str:
    """What a cleared result says instead: which call it was, how big, and that it can be run again."""
    kind = "error" if is_error else "output"
    call = f"{use.get('name', 'a tool')} {short_input(use)}"
    return f"{CLEARED}{call} ({kind}, {chars:,} chars). Run it again if you need it.]"


def run(settings: Settings, messages: list[Message]) -> Outcome:
    if settings.policy == "original":
        return original(messages)
    if settings.policy == "cache-aware":
        return cache_aware(messages, settings)
    return Outcome(messages)


# ---- editing -----------------------------------------------------------------------------------------
def _apply(messages: list[Message], replacements: dict[Position, str], uses: dict[str, Any]) -> Outcome:
    if not replacements:
        return Outcome(messages)
    result = list(messages)
    cleared = []
    for (index, number), text in sorted(replacements.items()):
        message = result[index]
        content = list(message["content"])
        old = content[number]
        content[number] = {**old, "content": text}  # tool_use_id, is_error and the rest stay
        result[index] = {**message, "content": content}
        chars = content_chars(old.get("content"))
        use = uses.get(old.get("tool_use_id", ""), {})
        cleared.append(Cleared(use.get("name", "?"), short_input(use), chars, tokens(chars) - tokens(len(text))))
    first_edit = min(index for index, _ in replacements)
    for index in range(first_edit + 1, len(result)):
        if result[index].get("role") == "assistant":
            result[index] = _without_thinking(result[index])
    return Outcome(result, cleared)


def _without_thinking(message: Message) -> Message:
    kept = [b for b in history.blocks(message) if b.get("type") not in ("thinking", "redacted_thinking")]
    if len(kept) == len(history.blocks(message)):
        return message
    return {**message, "content": kept or [NO_REASONING]}


def _open_tool_loop_with_thinking(messages: list[Message]) -> bool:
    """An interrupted tool loop whose last assistant turn has thinking: the API wants that thinking back
    verbatim *and* bound to the unedited history, so no edit is possible until the loop is closed."""
    if len(messages) < 2 or not history.tool_result_ids(messages[-1]):
        return False
    return any(b.get("type") in ("thinking", "redacted_thinking") for b in history.blocks(messages[-2]))


# ---- reading -----------------------------------------------------------------------------------------
def result_positions(messages: list[Message]) -> list[Position]:
    return [
        (index, number)
        for index, message in enumerate(messages)
        if message.get("role") == "user" and isinstance(message.get("content"), list)
        for number, block in enumerate(message["content"])
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]


def tool_uses_by_id(messages: list[Message]) -> dict[str, dict[str, Any]]:
    return {
        block["id"]: block
        for message in messages
        if message.get("role") == "assistant"
        for block in history.blocks(message)
        if block.get("type") == "tool_use" and "id" in block
    }


def content_text(content: Any) -> str:
    """A tool_result's content as text: a string, or its text blocks joined (images as ``[image]``)."""
    return "\n".join(text for text, _ in _pieces(content) if text)


def content_chars(content: Any) -> int:
    """Size of a tool_result's content in characters; an image counts as what it costs in tokens."""
    return sum(size for _, size in _pieces(content))


def _pieces(content: Any) -> Iterator[tuple[str, int]]:
    """(text, size in characters) of each part of a tool_result's content."""
    if isinstance(content, str):
        yield content, len(content)
        return
    for block in content if isinstance(content, list) else []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            yield str(block.get("text", "")), len(str(block.get("text", "")))
        elif kind == "image":
            yield "[image]", IMAGE_TOKENS * 4
        elif kind is not None:
            yield "", json_size(block)


def shrinks(content: Any, text: str) -> bool:
    """Whether ``text`` is smaller than ``content`` as estimated tokens and as JSON, UTF-8 (how sessions
    store it) or ASCII-escaped (how other clients may send it)."""
    return len(text) < content_chars(content) and all(
        json_size(text, ascii) < json_size(content, ascii) for ascii in (False, True)
    )


def json_size(value: Any, ascii: bool = False) -> int:
    return len(json.dumps(value, ensure_ascii=ascii, separators=(",", ":")).encode())


def short_input(use: dict[str, Any], limit: int = 80) -> str:
    text = json.dumps(use.get("input", {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def estimate_tokens(messages: list[Message]) -> int:
    """Rough context size (about 4 characters a token), enough to decide when clearing pays."""
    return tokens(sizes(messages)[0])


def sizes(messages: list[Message]) -> tuple[int, int]:
    """Characters of the history, and of its tool results not cleared yet.

    Called on every query's whole history: the running totals of the last call are reused for the leading
    messages that are still the very same objects (messages are replaced, never edited in place), so a
    query costs what it added.
    """
    global _counted
    seen, totals = _counted
    totals = totals[: history.same_prefix(seen, messages) + 1]
    for message in messages[len(totals) - 1 :]:
        chars, clearable = totals[-1]
        totals.append((chars + message_chars(message), clearable + clearable_chars(message)))
    _counted = (tuple(messages), totals)
    return totals[-1]


# The messages sizes() saw last, and totals[i]: the sizes of the first i of them.
_counted: tuple[tuple[Message, ...], list[tuple[int, int]]] = ((), [(0, 0)])


def clearable_chars(message: Message) -> int:
    """Characters of a message's tool results that cache_aware has not cleared yet."""
    if message.get("role") != "user" or not isinstance(message.get("content"), list):
        return 0
    return sum(_clearable(block) for block in message["content"] if isinstance(block, dict))


def _clearable(block: dict[str, Any]) -> int:
    if block.get("type") != "tool_result" or content_text(block.get("content")).startswith(CLEARED):
        return 0
    return content_chars(block.get("content"))


def _recent_clearable(messages: list[Message], keep: int) -> int:
    """clearable_chars of the last ``keep`` tool results, which cache_aware never touches."""
    chars = 0
    for message in reversed(messages):
        if message.get("role") != "user" or not isinstance(message.get("content"), list):
            continue
        for block in reversed(message["content"]):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                if keep == 0:
                    return chars
                keep -= 1
                chars += _clearable(block)
    return chars


def message_chars(message: Message) -> int:
    chars = 0
    for block in history.blocks(message):
        kind = block.get("type")
        if kind == "text":
            chars += len(block.get("text", ""))
        elif kind == "tool_result":
            chars += content_chars(block.get("content"))
        elif kind == "image":
            chars += IMAGE_TOKENS * 4
        else:  # tool_use, thinking and anything newer: their JSON is a fair measure
            chars += len(json.dumps(block, ensure_ascii=False))
    return chars
