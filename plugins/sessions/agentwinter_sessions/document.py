"""The stored form of a session: one JSON document per key, readable with ``redis-cli GET``.

``{"messages": [...], "created", "cwd", "format": 1, "id", "metadata", "model", "name", "updated", "usage",
"version"}`` — "messages" first, so a query that only adds messages rewrites just the tail of the value
(the new messages and the small header after them) instead of sending the whole session again. The
messages a query adds are encoded together, once, and their bytes kept for as long as the same message
objects are (a message dict is never edited in place, only replaced — cleanup replaces the ones it shrinks).
"""

from __future__ import annotations

import bisect
import operator
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from agentwinter_core import history
from agentwinter_core.state import Message

FORMAT = 1
Dump = Callable[[Any], bytes]
OPEN, CLOSE = b'{"messages":[', b"],"
# A tail shorter than what it overwrites is padded with spaces (valid trailing JSON whitespace); more
# padding than this is not worth keeping: the whole value is rewritten instead.
MAX_PADDING = 1024


class CorruptSession(Exception):
    """A stored value this version cannot use; the message says why in one line."""


def new_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"session-{stamp}-{secrets.token_hex(4)}"


@dataclass
class Write:
    """One save's bytes: ``tail`` goes at ``offset`` of a value that is ``previous`` bytes long in Redis
    (``previous`` None: unknown, write the whole value)."""

    parts: list[bytes]
    head: bytes
    offset: int
    tail: bytes
    previous: int | None
    length: int  # of the value after this write
    raw: bytes | None = None  # a finished value (import, restore, fork) instead of parts
    version: int = 0  # the version a finished value carries

    @classmethod
    def of(cls, raw: bytes, version: int) -> Write:
        return cls([], b"{}", 0, b"", None, len(raw), raw, version)

    @property
    def whole(self) -> bytes:
        return self.raw if self.raw is not None else OPEN + b",".join(self.parts) + CLOSE + self.head[1:]

    @property
    def incremental(self) -> bool:
        return self.previous is not None


class Encoder:
    """Builds a save's bytes from parts — each the comma-separated JSON of a run of messages, one run per
    query — knowing which of them Redis already holds."""

    def __init__(self, dump: Dump) -> None:
        self.dump = dump
        self._stored: list[bytes] = []  # the parts of the value in Redis, when known
        self._stored_length: int | None = None
        self._messages: list[Message] = []  # the previous encode's messages...
        self._parts_of: list[tuple[int, bytes]] = []  # ...and its parts, with the message index each one ends at

    def encode(self, header: dict[str, Any], messages: list[Message]) -> Write:
        parts = self._parts(messages)
        head = self.dump(header)
        length = len(OPEN) + sum(map(len, parts)) + max(len(parts) - 1, 0) + len(CLOSE) + len(head) - 1
        kept = common_prefix(parts, self._stored)  # parts Redis already holds byte for byte
        if kept == 0 or self._stored_length is None:
            return Write(parts, head, 0, b"", None, length)
        offset = len(OPEN) + sum(map(len, parts[:kept])) + kept - 1
        tail = b"".join([b"," if kept < len(parts) else b"", b",".join(parts[kept:]), CLOSE, memoryview(head)[1:]])
        padding = self._stored_length - (offset + len(tail))
        if padding > MAX_PADDING:
            return Write(parts, head, 0, b"", None, length)
        if padding > 0:
            tail, length = tail + b" " * padding, self._stored_length
        return Write(parts, head, offset, tail, self._stored_length, length)

    def saved(self, write: Write) -> None:
        """``write`` is what Redis now holds."""
        self._stored, self._stored_length = write.parts, write.length

    def forget(self) -> None:
        """What Redis holds is unknown (another writer, an outage, an expiry): next save is whole."""
        self._stored, self._stored_length = [], None

    def _parts(self, messages: list[Message]) -> list[bytes]:
        # Histories mostly grow at the end: keep the parts whose messages are all unchanged, encode the rest
        # as one run (one call of the dump hook, however many messages the query added).
        same = common_prefix(self._messages, messages)
        kept = self._parts_of[: bisect.bisect_right(self._parts_of, same, key=operator.itemgetter(0))]
        start = kept[-1][0] if kept else 0
        if start < len(messages):
            kept.append((len(messages), self.dump(messages[start:]).strip()[1:-1]))  # the array without [ ]
        self._messages, self._parts_of = list(messages), kept
        return [part for _, part in kept]


def common_prefix(mine: list[Any], theirs: list[Any]) -> int:
    """How many leading items are the very same objects."""
    if all(map(operator.is_, mine, theirs)):  # map stops at the shorter list; the usual case, at C speed
        return min(len(mine), len(theirs))
    count = 0
    for a, b in zip(mine, theirs, strict=False):
        if a is not b:
            break
        count += 1
    return count


def decode(raw: bytes, repair: bool = True) -> dict[str, Any]:
    """The document, with a history the API accepts (``repair=False``: as stored); CorruptSession when it
    cannot be used."""
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
    if repair:
        document["messages"] = history.repair(messages)
    for name, kind in (("usage", dict), ("metadata", dict), ("version", int)):
        if not isinstance(document.get(name), kind):
            document[name] = kind()
    return document


def first_query(messages: list[dict[str, Any]]) -> str:
    """The person's first words in a session, on one line (for listings)."""
    for message in messages:
        if message.get("role") == "user":
            texts = [b.get("text", "") for b in history.blocks(message) if b.get("type") == "text"]
            if texts:
                return " ".join(" ".join(texts).split())[:80]
    return ""
