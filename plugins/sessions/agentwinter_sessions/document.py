"""The stored form of a session: one JSON document per key, readable with ``redis-cli GET``.

``{"messages": [...], "created", "cwd", "format": 1, "id", "metadata", "model", "name", "owner", "repository",
"updated", "usage", "version", "workspace"}``. Every save writes the whole document; the messages a query
adds are encoded once and their bytes reused for as long as the same message objects are (a message dict is
never edited in place, only replaced — cleanup replaces the ones it shrinks), so a save costs a join, not a
dump.
"""

from __future__ import annotations

import bisect
import operator
import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson

from agentwinter_core.api import Message, history
from agentwinter_sessions.failures import Corrupt
from agentwinter_sessions.store import Summary

FORMAT = 1
Dump = Callable[[Any], bytes]
OPEN, CLOSE = b'{"messages":[', b"],"


def new_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"session-{stamp}-{secrets.token_hex(4)}"


class Encoder:
    """Encodes documents from parts — each the comma-separated JSON of a run of messages, one run per
    query — keeping the parts whose messages are unchanged."""

    def __init__(self, dump: Dump) -> None:
        self.dump = dump
        self._messages: list[Message] = []  # the previous encode's messages...
        self._parts_of: list[tuple[int, bytes]] = []  # ...and its parts, with the message index each one ends at

    def encode(self, header: dict[str, Any], messages: list[Message]) -> bytes:
        parts = self._parts(messages)
        pieces = [OPEN, *(piece for part in parts for piece in (part, b",")), CLOSE, memoryview(self.dump(header))[1:]]
        if parts:
            pieces.pop(-3)  # the comma after the last part
        return b"".join(pieces)  # one copy of the whole value (each + would copy it again)

    def _parts(self, messages: list[Message]) -> list[bytes]:
        # Histories mostly grow at the end: keep the parts whose messages are all unchanged, encode the rest
        # as one run (one call of the dump hook, however many messages the query added).
        same = history.same_prefix(self._messages, messages)
        kept = self._parts_of[: bisect.bisect_right(self._parts_of, same, key=operator.itemgetter(0))]
        start = kept[-1][0] if kept else 0
        if start < len(messages):
            kept.append((len(messages), self.dump(messages[start:]).strip()[1:-1]))  # the array without [ ]
        self._messages, self._parts_of = list(messages), kept
        return [part for _, part in kept]


def decode(raw: bytes, repair: bool = True) -> dict[str, Any]:
    """The document, with a history the API accepts (``repair=False``: as stored); Corrupt when it cannot
    be used."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Corrupt(f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise Corrupt(f"a JSON {type(document).__name__}, not an object")
    version = document.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise Corrupt("no format version")
    if version > FORMAT:
        raise Corrupt(f"format {version} is newer than this agentwinter-sessions understands ({FORMAT})")
    messages = document.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise Corrupt("'messages' is not a list of messages")
    if not isinstance(document.get("id"), str) or not document["id"]:
        raise Corrupt("no session id")
    if repair:
        document["messages"] = history.repair(messages)
    for name, kind in (("usage", dict), ("metadata", dict), ("version", int)):
        if not isinstance(document.get(name), kind):
            document[name] = kind()
    for name in ("name", "cwd", "model", "owner", "repository"):
        if not isinstance(document.get(name), str):
            document[name] = ""
    return document


def first_query(messages: list[dict[str, Any]]) -> str:
    """The person's first words in a session, on one line (for listings)."""
    for message in messages:
        if message.get("role") == "user":
            texts = [b.get("text", "") for b in history.blocks(message) if b.get("type") == "text"]
            if texts:
                return " ".join(" ".join(texts).split())[:80]
    return ""


def summary_of(document: dict[str, Any], length: int) -> Summary:
    """What listings show of a document (stored beside it, so ``!sessions`` never loads one)."""
    messages = document.get("messages", [])
    return Summary(
        name=document.get("name") or "",
        messages=len(messages),
        first_query=first_query(messages),
        created=float(document.get("created") or 0.0),
        updated=float(document.get("updated") or 0.0),
        cwd=document.get("cwd") or "",
        bytes=length,
        owner=document.get("owner") or "",
        repository=document.get("repository") or "",
    )
