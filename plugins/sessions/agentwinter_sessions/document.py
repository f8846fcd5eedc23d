"""The stored form of a session: one JSON document per key, readable with ``redis-cli GET``.

``{"format": 1, "id", "name", "created", "updated", "cwd", "model", "usage", "metadata", "version",
"messages": [...]}`` — "messages" last, so the document can be assembled from per-message bytes that
were encoded once and cached (a message dict is never edited in place, only replaced).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson

from agentwinter_core import history
from agentwinter_core.state import Message

FORMAT = 1
Dump = Callable[[Any], bytes]


class CorruptSession(Exception):
    """A stored value this version cannot use; the message says why in one line."""


def new_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"session-{stamp}-{secrets.token_hex(4)}"


class Encoder:
    """Builds document bytes, encoding each message once for as long as the same object is kept."""

    def __init__(self, dump: Dump) -> None:
        self.dump = dump
        self._cache: dict[int, tuple[Message, bytes]] = {}  # id(message) -> (message kept alive, bytes)

    def encode(self, header: dict[str, Any], messages: list[Message]) -> bytes:
        parts, cache = [], {}
        for message in messages:
            hit = self._cache.get(id(message))
            encoded = hit[1] if hit and hit[0] is message else self.dump(message)
            cache[id(message)] = (message, encoded)
            parts.append(encoded)
        self._cache = cache  # drop what left the history
        head = self.dump(header)
        return head[:-1] + b',"messages":[' + b",".join(parts) + b"]}"


def decode(raw: bytes) -> dict[str, Any]:
    """The document, with a history the API accepts; CorruptSession when it cannot be used."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CorruptSession(f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise CorruptSession(f"a JSON {type(document).__name__}, not an object")
    version = document.get("format")
    if not isinstance(version, int):
        raise CorruptSession("no format version")
    if version > FORMAT:
        raise CorruptSession(f"format {version} is newer than this agentwinter-sessions understands ({FORMAT})")
    messages = document.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise CorruptSession("'messages' is not a list of messages")
    document["messages"] = history.repair(messages)
    for name, kind in (("usage", dict), ("metadata", dict), ("version", int)):
        if not isinstance(document.get(name), kind):
            document[name] = kind()
    return document
