"""Example third-party cleanup: keep only the most recent turns, dropping older ones whole.

A turn starts at a user message that carries the person's words and no tool results, so cutting there
keeps the history valid: it still starts with the user, roles still alternate, every tool_use keeps its
tool_result. Cutting changes what comes before every kept message, and the API binds thinking blocks to
the exact history before them — so the kept messages lose their thinking blocks.
"""

from __future__ import annotations

import os
from typing import Any

from agentwinter_core.api import history, hookimpl

Message = dict[str, Any]


@hookimpl  # not trylast: an installed plugin's implementation wins over the trylast defaults
def cleanup_messages(messages: list[Message]) -> list[Message]:
    keep = max(1, int(os.environ.get("KEEP_RECENT_TURNS", "3")))
    starts = history.query_starts(messages)  # where a turn begins: cutting there keeps the history valid
    if len(starts) <= keep:
        return messages
    return [_without_thinking(message) for message in messages[starts[-keep] :]]


def _without_thinking(message: Message) -> Message:
    if message.get("role") != "assistant":
        return message
    kept = [b for b in history.blocks(message) if b.get("type") not in ("thinking", "redacted_thinking")]
    return {**message, "content": kept or [{"type": "text", "text": "(reasoning omitted)"}]}
