"""Building one assistant message from the raw events of a streamed Messages-API answer.

The core reads the raw events itself (not the SDK's accumulating helper) so it can tell a complete answer
(``message_stop`` seen) from one that broke off, and keep the raw input JSON of every tool call: a call whose
input does not parse must not run with whatever a lenient parser made of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

TOOL_CALLS = ("tool_use", "server_tool_use")


class View(Protocol):
    """Where the answer shows as it arrives (the UI)."""

    def answer_text(self, chunk: str) -> None: ...
    def answer_thinking(self) -> None: ...
    def answer_tool(self, name: str) -> None: ...


class MalformedStream(Exception):
    """The events do not form a message (wrong order, unknown block, missing fields)."""


@dataclass
class Collected:
    """The message built so far: a JSON-safe dict, and what the stream's end said about it."""

    message: dict[str, Any] | None = None
    complete: bool = False  # message_stop arrived
    bad_inputs: dict[str, str] = field(default_factory=dict)  # tool_use id -> why its input was refused

    @property
    def content(self) -> list[dict[str, Any]]:
        return self.message["content"] if self.message else []

    @property
    def stop_reason(self) -> str | None:
        return self.message.get("stop_reason") if self.message else None

    @property
    def usage(self) -> dict[str, Any]:
        return (self.message or {}).get("usage") or {}


def collect(events: Iterable[Any], view: View, collected: Collected) -> None:
    """Apply each SDK event to ``collected``, showing text, thinking and tool calls on ``view`` as they come."""
    buffers: dict[int, str] = {}
    for event in events:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            collected.message = {**event.message.to_dict(mode="json"), "content": []}
        elif kind in ("content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
            if collected.message is None:
                raise MalformedStream(f"{kind} before message_start")
            _apply(kind, event, collected.message, collected, buffers, view)
        elif kind == "message_stop":
            collected.complete = True
    for index in list(buffers):  # blocks whose content_block_stop never came
        _finish_input(collected, index, buffers)


def _apply(
    kind: str,
    event: Any,
    message: dict[str, Any],
    collected: Collected,
    buffers: dict[int, str],
    view: View,
) -> None:
    content = message["content"]
    if kind == "message_delta":
        stop, usage = event.delta.to_dict(mode="json"), event.usage.to_dict(mode="json")
        message.update({k: stop[k] for k in ("stop_reason", "stop_sequence") if k in stop})
        message["usage"] = {**collected.usage, **{k: v for k, v in usage.items() if v is not None}}
        return
    if kind == "content_block_start":
        content.append(event.content_block.to_dict(mode="json"))
        if content[-1].get("type") == "tool_use":
            view.answer_tool(str(content[-1].get("name", "")))
        return
    if not isinstance(getattr(event, "index", None), int) or not 0 <= event.index < len(content):
        raise MalformedStream(f"{kind} for content block {getattr(event, 'index', None)!r}, which was never started")
    if kind == "content_block_stop":
        _finish_input(collected, event.index, buffers)
        return
    block = content[event.index]
    delta: Any = getattr(event, "delta", None)  # an SDK delta model; its kind says which fields it has
    delta_kind = getattr(delta, "type", None)
    if delta_kind == "text_delta" and block.get("type") == "text":
        block["text"] = block.get("text", "") + delta.text
        view.answer_text(delta.text)
    elif delta_kind == "input_json_delta" and block.get("type") in TOOL_CALLS:
        buffers[event.index] = buffers.get(event.index, "") + delta.partial_json
    elif delta_kind == "thinking_delta" and block.get("type") == "thinking":
        block["thinking"] = block.get("thinking", "") + delta.thinking
        view.answer_thinking()
    elif delta_kind == "signature_delta" and block.get("type") == "thinking":
        block["signature"] = delta.signature
    elif delta_kind == "citations_delta" and block.get("type") == "text":
        block["citations"] = [*(block.get("citations") or []), delta.citation.to_dict(mode="json")]
    elif delta_kind is None:
        raise MalformedStream(f"a content_block_delta without a delta type ({delta!r:.80})")


def _finish_input(collected: Collected, index: int, buffers: dict[int, str]) -> None:
    """Parse a tool call's streamed input; one that is not a JSON object is recorded as bad and left empty."""
    raw = buffers.pop(index, None)
    if raw is None:
        return
    block = collected.content[index]
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        value, why = None, f"not valid JSON ({exc})"
    else:
        why = "" if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"
    if why:
        collected.bad_inputs[str(block.get("id"))] = why
        value = {}
    block["input"] = value
