"""``SessionStore`` on Redis: standalone, unix socket, TLS, Sentinel or Cluster, through one code path.

Keys (db 1 by default; a cluster has only db 0, where the ``agentwinter:`` prefix is the isolation), shown
with the default prefix ``agentwinter`` (``[sessions] key_prefix`` replaces it, e.g. ``agentwinter:alice``,
so an ACL user limited to ``~agentwinter:alice:*`` reaches every key of its sessions and no other's):
- ``agentwinter:session:<id>``: the JSON document, readable with ``redis-cli GET``, with the sliding TTL
  (with a key, the document encrypted: sealing.py; the meta hash stays readable);
- ``agentwinter:meta:{agentwinter:session:<id>}``: hash of version, length and listing summary, same TTL.
  Its hash tag is the document's own key name, so both live in one cluster slot and a compare-and-set
  over the two is one transaction on one node, while the document keeps its plain, documented name;
- ``agentwinter:quarantine:{…}:<time>``: an unusable value set aside, kept 7 days;
- ``agentwinter:index``, ``agentwinter:dir:<digest of the repository identity>`` (of the directory for a
  session without one) and ``agentwinter:owner:<digest of the owner>``: sorted sets, member id, score
  the expiry time, so listing one directory costs O(its sessions); ``agentwinter:names``: owner, a tab and
  the name -> id (names are per owner; a bare name field, as written before owners, names an unowned session).
  Indexes expire a day after their last write and entries of vanished sessions are pruned when met.

A query costs two round trips: ``touch`` before it watches the document and its meta and reads them,
``save`` after it writes both in a MULTI/EXEC that Redis refuses when either changed since
(transaction.py). Every save sends the whole value: simple, never padded, and it cannot append into a
value changed behind our back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
import secrets
import time
from typing import Any

import orjson
from redis.exceptions import AskError, MovedError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentwinter_sessions import sealing
from agentwinter_sessions.connect import Target, client
from agentwinter_sessions.failures import Corrupt, translated
from agentwinter_sessions.store import Page, Row, Summary
from agentwinter_sessions.transaction import Transaction, node_pool

BASE = "agentwinter"  # the default key prefix; the names below are those of the default
INDEX = f"{BASE}:index"
NAMES = f"{BASE}:names"
INDEX_SECONDS = 24 * 3600  # an index outlives its newest session by at least this much
INDEX_REFRESH = 60.0  # seconds: how stale a session's index score (its expiry time) may get
QUARANTINE_SECONDS = 7 * 24 * 3600
CANDIDATES = 500  # sessions read per round trip when listing

# KEYS: names. ARGV: name, the owner we saw ('' = none), id, old name. Sets the name only if its owner
# is still the one we saw; answers the owner otherwise.
NAME = """
local owner = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if owner ~= ARGV[2] then return owner end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], ARGV[4]) == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[4]) end
return false
"""

# KEYS: names. ARGV: id, names. Frees each name that is still this session's.
UNNAME = """
local freed = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then freed = freed + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return freed
"""


def document_key(session_id: str, base: str = BASE) -> str:
    return f"{base}:session:{session_id}"


def meta_key(session_id: str, base: str = BASE) -> str:
    return f"{base}:meta:{{{document_key(session_id, base)}}}"


def quarantine_key(key: str, what: str, base: str = BASE) -> str:
    """Where a value of ``key`` is set aside: in the same cluster slot, under a name never used before."""
    tag = key[key.index("{") + 1 : key.index("}")] if "{" in key else key
    return f"{base}:quarantine:{{{tag}}}:{what}:{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def directory_key(directory: str, base: str = BASE) -> str:
    return f"{base}:dir:" + hashlib.sha256(directory.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def owner_key(owner: str, base: str = BASE) -> str:
    return f"{base}:owner:" + hashlib.sha256(owner.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def name_field(owner: str, name: str) -> str:
    """The field of the names hash for ``owner``'s ``name``: names are per owner (a name has no control
    characters, so the tab is unambiguous); an unowned session's name is the bare name, as before owners."""
    return f"{owner}\t{name}" if owner else name


def _where(store: RedisStore) -> str:
    return store.target.shown


class RedisStore:
    def __init__(self, target: Target, ttl: int, base: str = BASE, seal: sealing.Seal | None = None) -> None:
        self.target = target
        self.ttl = ttl
        self.base = base  # every key starts with base + ":"
        self.index, self.names = f"{base}:index", f"{base}:names"
        self.seal = seal  # with a key, documents are stored encrypted (sealing.py)
        self._sealed: dict[str, tuple[int, int]] = {}  # id -> (stored, document) length of what we sealed or opened
        self._client: Any = None
        self._transaction: Transaction | None = None  # the connection that watches, from a touch to its save
        self._watched: tuple[str, int, int] | None = None  # (id, version, length) seen by the WATCH still on
        self._notices: list[str] = []
        # What this process last wrote into the indexes (see _index).
        self._indexed: dict[str, tuple[str, str, float]] = {}  # id -> (place, name, next refresh)

    @property
    def client(self) -> Any:
        if self._client is None:  # a cluster client connects as it is made: inside the translated call
            self._client = client(self.target)
        return self._client

    # ---- one session --------------------------------------------------------------------------------
    @translated(_where)
    def load(self, session_id: str) -> tuple[bytes, int] | None:
        document, meta = document_key(session_id, self.base), meta_key(session_id, self.base)
        raw, version = self._run(lambda pipe: [pipe.get(document), pipe.hget(meta, "version")], keys=(document, meta))
        if raw is None:
            return None
        opened = sealing.opened(raw, self.seal, f"session {session_id}")
        if opened is not raw:
            self._sealed[session_id] = (len(raw), len(opened))
        return opened, self._version(version, session_id)

    @translated(_where)
    def save(self, session_id: str, raw: bytes, version: int, expected: int | None, summary: Summary) -> bool:
        if self.seal is not None:  # the first query is message text: it stays out of the readable summary
            summary = dataclasses.replace(summary, first_query="")
            readable = {"id": session_id, **summary.__dict__, "message_count": summary.messages}
            del readable["messages"], readable["first_query"]  # a count in clear, not the text
            length, raw = len(raw), self.seal.seal(raw, readable)
            self._sealed[session_id] = (len(raw), length)
        now = time.time()
        index = self._index(session_id, summary, now)
        document = document_key(session_id, self.base)
        pool = node_pool(self.client, document)  # index keys on the document's server go in its round trip
        along = [command for command in index if node_pool(self.client, command[1]) is pool]
        try:
            replies = self._write(session_id, expected, (raw, version, orjson.dumps(summary.__dict__)), along)
        finally:
            self._release()
        if replies is None:
            return False
        if index:
            if len(along) < len(index) or any(isinstance(reply, Exception) for reply in replies[1:]):
                listed = self._indexes(summary)
                self._run(lambda pipe: [pipe.execute_command(*command) for command in index], keys=listed)
            self._indexed[session_id] = (summary.place, summary.name, now + INDEX_REFRESH)
        return replies[0] is not None  # None: Redis refused the EXEC, a watched key changed since the WATCH

    def _write(self, session_id: str, expected: int | None, value: tuple[bytes, int, bytes], along: list[Any]) -> Any:
        """Write the document and its meta in a MULTI/EXEC under the WATCH of both, with ``along`` after the EXEC:
        the EXEC's reply and those of ``along``; None when the WATCH saw another writer's version."""
        document, meta = document_key(session_id, self.base), meta_key(session_id, self.base)
        raw, version, summary = value
        for attempt in range(2):  # the second after a lost connection, a moved slot, a key set aside
            watched = self._watched is not None and self._watched[0] == session_id
            creating = expected == 0 and not watched and not attempt
            if creating:  # a new session: nothing to read first; the document only if there is none, the
                # version only if there is none (a document met after all: the second try compares its version)
                block = [("UNWATCH",), ("MULTI",), ("SET", document, raw, "EX", self.ttl, "NX")]
                block += [("HSETNX", meta, "version", version), ("HSET", meta, "summary", summary, "length", len(raw))]
            else:
                stored, length = self._seen(session_id, fresh=attempt > 0)
                if expected is not None and stored and stored != expected and length:
                    return None  # another writer stored another version, and the document still exists
                block = [("MULTI",), ("SET", document, raw, "EX", self.ttl)]
                block += [("HSET", meta, "version", version, "summary", summary, "length", len(raw))]
            block += [("EXPIRE", meta, self.ttl), ("EXEC",)]
            try:
                replies = self._round_trip(document, *block, *along)
            except (RedisConnectionError, RedisTimeoutError):
                if attempt:
                    raise
                continue  # the EXEC may have run: the next WATCH's read tells (our version: the merge sees it)
            done = replies[len(block) - 1]  # None: refused, a watched key changed
            answers = [*replies[: len(block) - 1], *(done if isinstance(done, list) else [done])]
            error = next((reply for reply in answers if isinstance(reply, Exception)), None)
            if error is None and not (creating and done[0] is None):  # (SET NX met a document)
                return [done, *replies[len(block) :]]
            if error is not None and (attempt or not self._mended(error, (document, meta))):
                raise error
        raise AssertionError("unreachable")

    @translated(_where)
    def touch(self, session_id: str) -> tuple[int, int] | None:
        document, meta = document_key(session_id, self.base), meta_key(session_id, self.base)
        alive, _ = self._watch(session_id, ("EXPIRE", document, self.ttl), ("EXPIRE", meta, self.ttl))
        if not alive:
            self._indexed.pop(session_id, None)  # gone, and maybe pruned: the next save indexes it again
            return None
        _, version, length = self._watched  # type: ignore[misc]
        stored, plain = self._sealed.get(session_id, (None, 0))
        return version, plain if length == stored else length

    @translated(_where)
    def delete(self, session_id: str) -> bool:
        self._indexed.pop(session_id, None)
        summary = self._summary(session_id)

        def commands(pipe: Any) -> None:
            pipe.delete(document_key(session_id, self.base))  # one key a DEL: a cluster pipeline takes no more
            pipe.delete(meta_key(session_id, self.base))
            self._unindexed(pipe, [session_id], summary.place, summary.owner)

        removed = self._run(commands, keys=self._indexes(summary))[0]
        if summary.name:
            self.client.eval(UNNAME, 1, self.names, session_id, *_fields(summary.owner, summary.name))
        return bool(removed)

    @translated(_where)
    def quarantine(self, session_id: str) -> str:
        self._indexed.pop(session_id, None)
        summary = self._summary(session_id)
        target = quarantine_key(document_key(session_id, self.base), "session", self.base)

        def commands(pipe: Any) -> None:
            pipe.execute_command("RENAME", document_key(session_id, self.base), target)  # one slot: the hash tag
            pipe.expire(target, QUARANTINE_SECONDS)
            pipe.delete(meta_key(session_id, self.base))
            self._unindexed(pipe, [session_id], summary.place, summary.owner)

        self._run(commands)
        return target

    # ---- finding sessions -----------------------------------------------------------------------------
    @translated(_where)
    def listing(self, directory: str | None, limit: int, offset: int = 0, owner: str | None = None) -> Page:
        key = self.index if directory is None else directory_key(directory, self.base)
        if owner is not None and directory is not None:
            return self._owned(key, directory, owner, limit, offset)
        if owner is not None:  # every directory: the owner's own index, O(their sessions)
            key = owner_key(owner, self.base)
        rows: list[Row] = []
        start, total = offset, None
        while len(rows) < limit:
            span = (start, start + min(limit - len(rows), CANDIDATES) - 1)
            found, total = self._run(lambda pipe, s=span: [pipe.zrevrange(key, *s), pipe.zcard(key)], keys=(key,))
            if not found:
                break
            page = self._rows([i.decode() for i in found], directory, owner)
            rows += page
            start += len(page)  # the gone ones were pruned: what follows moved up
            total -= len(found) - len(page)
        if total is None:
            (total,) = self._run(lambda pipe: [pipe.zcard(key)], keys=(key,))
        return Page(rows, max(0, int(total) - start))

    def _owned(self, key: str, directory: str | None, owner: str, limit: int, offset: int) -> Page:
        """The rows of one owner (and the unowned ones): the whole index is read, CANDIDATES per round trip,
        so the count of the rest is exact."""
        rows: list[Row] = []
        start = 0
        while True:
            (found,) = self._run(lambda pipe, s=start: [pipe.zrevrange(key, s, s + CANDIDATES - 1)], keys=(key,))
            page = self._rows([i.decode() for i in found], directory) if found else []
            rows += [row for row in page if row.summary.owned_by(owner)]
            start += len(page)  # the gone ones were pruned: what follows moved up
            if len(found) < CANDIDATES:
                return Page(rows[offset : offset + limit], max(0, len(rows) - offset - limit))

    def _rows(self, ids: list[str], directory: str | None, owner: str | None = None) -> list[Row]:
        """The rows of ``ids`` that still exist; the others are pruned from the indexes."""

        def commands(pipe: Any) -> None:
            for session_id in ids:
                pipe.hget(meta_key(session_id, self.base), "summary")
                pipe.ttl(document_key(session_id, self.base))

        replies = self._run(commands, keys=tuple(meta_key(i, self.base) for i in ids))
        rows, gone = [], []
        for session_id, raw, ttl in zip(ids, replies[::2], replies[1::2], strict=True):
            if ttl < 0 and ttl != -1:  # -2: gone (-1, no TTL: set by hand; listed all the same)
                gone.append(session_id)
                continue
            rows.append(Row(session_id, max(ttl, 0), _summary(raw)))
        if gone:
            self._run(lambda pipe: self._unindexed(pipe, gone, directory, owner))
        return rows

    @translated(_where)
    def resolve(self, ref: str, owner: str = "", everyone: bool = True) -> list[str]:
        named = self.named(ref, owner)
        if named is not None:
            return [named]
        if self.client.exists(document_key(ref, self.base)):
            return [ref]
        self._run(lambda pipe: [pipe.zcard(self.index)], keys=(self.index,))  # an index of the wrong type is set aside
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", ref) + "*"
        candidates = [member.decode() for member, _ in self.client.zscan_iter(self.index, match=pattern, count=1000)]
        if everyone:
            return self._live(candidates[:20])[:10]
        return self._live(candidates, owner)[:10]  # all of them: the first 20 could all be another's

    @translated(_where)
    def named(self, name: str, owner: str = "") -> str | None:
        live = self._live([holder for holder in self._holders(_fields(owner, name)) if holder], owner)
        return live[0] if live else None

    @translated(_where)
    def vanished(self, ref: str, owner: str = "") -> str | None:
        fields = _fields(owner, ref)
        holder = next((holder for holder in self._holders(fields) if holder), "")
        session_id = holder or ref
        if (not holder and self.client.zscore(self.index, ref) is None) or self._live([session_id]):
            return None
        if holder:
            self.client.eval(UNNAME, 1, self.names, session_id, *fields)
        self._run(lambda pipe: self._unindexed(pipe, [session_id], None))
        return session_id

    @translated(_where)
    def claim_name(self, session_id: str, name: str, old: str, owner: str = "") -> str | None:
        field, previous = name_field(owner, name), name_field(owner, old) if old else ""
        for _ in range(3):  # another process may claim or free it between our two steps
            holder = self._holders([field])[0] if name else ""
            if holder and holder != session_id and self._live([holder]):
                return holder
            if not name:
                if old:
                    self.client.eval(UNNAME, 1, self.names, session_id, *_fields(owner, old))
                return None
            if self.client.eval(NAME, 1, self.names, field, holder, session_id, previous) is None:
                self.client.expire(self.names, max(2 * self.ttl, INDEX_SECONDS))
                return None
        return holder or None

    @translated(_where)
    def expiring(self, within: int, owner: str | None = None) -> list[tuple[str, int]]:
        soon = time.time() + within
        index = self.index
        (found,) = self._run(lambda pipe: [pipe.zrangebyscore(index, "-inf", soon, 0, CANDIDATES)], keys=(index,))
        ids = [i.decode() for i in found]

        def commands(pipe: Any) -> None:
            for session_id in ids:
                pipe.ttl(document_key(session_id, self.base))
                pipe.hget(meta_key(session_id, self.base), "version")
                pipe.hget(meta_key(session_id, self.base), "summary")

        replies = self._run(commands) if ids else []
        gone = [i for i, ttl in zip(ids, replies[::3], strict=True) if ttl == -2]
        if gone:
            self._run(lambda pipe: self._unindexed(pipe, gone, None))
        found_rows = zip(ids, replies[::3], replies[1::3], replies[2::3], strict=True)
        return [
            (i, int(version))
            for i, ttl, version, summary in found_rows
            if 0 <= ttl <= within
            and (version or b"").isdigit()
            and (owner is None or _summary(summary).owned_by(owner))
        ]

    # ---- the server ---------------------------------------------------------------------------------------
    @translated(_where)
    def evicting(self) -> str | None:
        memory = self._info("memory")
        policy = str(memory.get("maxmemory_policy", "noeviction"))
        return policy if policy != "noeviction" and int(memory.get("maxmemory", 0) or 0) > 0 else None

    @translated(_where)
    def figures(self, session_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        self.client.ping()
        latency = time.perf_counter() - started
        size, count = self._run(lambda pipe: [pipe.strlen(document_key(session_id, self.base)), pipe.zcard(self.index)])
        server = self._info("server")
        return {
            "bytes": size,
            "sessions": count,
            "redis_version": server.get("valkey_version") or server.get("redis_version", "?"),
            "kind": self.target.kind,
            "db": self.target.db,
            "evicting": self.evicting(),
            "latency_ms": latency * 1000,
        }

    # ---- helpers ------------------------------------------------------------------------------------------
    def _watch(self, session_id: str, *first: tuple[Any, ...]) -> list[Any]:
        """WATCH the document and its meta and read what a save compares (version, length), in one round trip
        after ``first`` (before the WATCH: a write of ours after it would void it); the replies of ``first``.
        What it saw stays in ``_watched`` until the save's EXEC ends the WATCH."""
        document, meta = document_key(session_id, self.base), meta_key(session_id, self.base)
        commands = (("UNWATCH",), *first, ("WATCH", document, meta), ("HGET", meta, "version"), ("STRLEN", document))
        self._watched = None
        for attempt in range(3):
            try:
                replies = self._round_trip(document, *commands)
            except (RedisConnectionError, RedisTimeoutError):
                if attempt == 2:
                    raise
                self._refresh(document)
                continue
            error = next((reply for reply in replies if isinstance(reply, Exception)), None)
            if error is None:
                break
            if attempt == 2 or not self._mended(error, (document, meta)):
                raise error
        *answers, _, version, length = replies[1:]
        self._watched = (session_id, self._version(version, session_id), int(length))
        return answers

    def _seen(self, session_id: str, fresh: bool) -> tuple[int, int]:
        """(version, length) as the WATCH on the session's keys saw them: the touch's, else a new one. A value
        of the wrong kind where the document belongs is set aside (and said) before a save writes over it."""
        watched, self._watched = self._watched, None
        if fresh or watched is None or watched[0] != session_id:
            try:
                self._watch(session_id)
            except Corrupt as exc:
                self._set_aside(document_key(session_id, self.base), str(exc))
                self._watch(session_id)
            watched, self._watched = self._watched, None
        return watched[1:]  # type: ignore[index]

    def _round_trip(self, key: str, *commands: tuple[Any, ...]) -> list[Any]:
        """``commands`` in one round trip on the connection that watches, to the server that holds ``key``."""
        pool = node_pool(self.client, key)
        if self._transaction is not None and self._transaction.pool is not pool:
            self._release()
        if self._transaction is None:
            self._transaction = Transaction(pool)
        try:
            return self._transaction.send(*commands)
        finally:
            if not self._transaction.watching:
                self._watched = None  # what a WATCH saw means nothing once it is over

    def _release(self) -> None:
        """Give the transaction's connection back (it watches nothing once its EXEC ran)."""
        if self._transaction is not None:
            self._transaction.release()
            self._transaction, self._watched = None, None

    def _mended(self, error: Exception, keys: tuple[str, ...]) -> bool:
        """Whether another try can get past ``error``: a moved slot (the client learns its new owner) or a key
        of the wrong kind (set aside)."""
        if isinstance(error, (MovedError, AskError)):
            self._refresh(keys[0])
            return True
        if str(error).startswith("WRONGTYPE"):
            self._set_aside_mistyped(keys)
            return True
        return False

    def _refresh(self, key: str) -> None:
        """One plain command through the client, so that it finds the server of ``key`` again (a cluster
        follows the moved slot; a sentinel names the new primary on the next connect)."""
        with contextlib.suppress(RedisError):  # the next try says what is wrong
            self.client.exists(key)

    def _run(self, commands: Any, keys: tuple[str, ...] = ()) -> list[Any]:
        """One round trip (one pipeline, or one per node on a cluster); raises the first error reply.
        Of ``keys`` (those the commands use), one holding the wrong kind of value is set aside and the
        commands run once more; the document itself is Corrupt."""
        for attempt in range(2):
            with self.client.pipeline(transaction=False) as pipe:
                commands(pipe)
                replies = pipe.execute(raise_on_error=False)
            errors = [reply for reply in replies if isinstance(reply, Exception)]
            if not errors:
                return replies
            if attempt or not keys or not str(errors[0]).startswith("WRONGTYPE"):
                raise errors[0]
            self._set_aside_mistyped(keys)
        raise AssertionError("unreachable")

    def _set_aside_mistyped(self, keys: tuple[str, ...]) -> None:
        kinds = self._run(lambda pipe: [pipe.type(key) for key in keys])
        for key, kind in zip(keys, (k.decode() for k in kinds), strict=True):
            expected = _kind_of(key, self.base)
            if kind in (expected, "none"):
                continue
            if key.startswith(document_key("", self.base)):
                raise Corrupt(f"a {kind} where the JSON document belongs")
            self._set_aside(key, f"held a {kind}, not a {expected}")

    def _set_aside(self, key: str, why: str) -> None:
        """Move a companion or index key we cannot use to a quarantine key in its own slot, and say so."""
        target = quarantine_key(key, key[len(self.base) + 1 :].split(":")[0], self.base)
        self._run(lambda pipe: [pipe.execute_command("RENAME", key, target), pipe.expire(target, QUARANTINE_SECONDS)])
        self._notices.append(f"{key} {why}: kept as {target}")

    def _version(self, raw: bytes | None, session_id: str) -> int:
        """A stored version; a meta hash whose version is no number is set aside (the next save rewrites it)."""
        if raw is None or raw.isdigit():
            return int(raw or 0)
        self._set_aside(meta_key(session_id, self.base), f"held the version {raw[:20]!r}, not a number")
        return 0

    def notices(self) -> list[str]:
        notes, self._notices = self._notices, []
        return notes

    def _indexes(self, summary: Summary) -> tuple[str, ...]:
        """The sorted sets that list a session: all, its place's, its owner's."""
        owner = (owner_key(summary.owner, self.base),) if summary.owner else ()
        return (self.index, directory_key(summary.place, self.base), *owner)

    def _index(self, session_id: str, summary: Summary, now: float) -> list[tuple[Any, ...]]:
        """The commands that list the session by its new expiry, when due: its indexes order by expiry, which a
        minute does not change much, so most saves skip them."""
        last = self._indexed.get(session_id)
        if last is not None and last[:2] == (summary.place, summary.name) and now < last[2]:
            return []
        keep = max(2 * self.ttl, INDEX_SECONDS)
        commands: list[tuple[Any, ...]] = []
        for key in self._indexes(summary):
            commands += [("ZADD", key, now + self.ttl, session_id), ("EXPIRE", key, keep)]
        if summary.name:
            commands.append(("EXPIRE", self.names, keep))
        return commands

    def _unindexed(self, pipe: Any, ids: list[str], directory: str | None, owner: str | None = None) -> None:
        pipe.zrem(self.index, *ids)
        if directory is not None:
            pipe.zrem(directory_key(directory, self.base), *ids)
        if owner:
            pipe.zrem(owner_key(owner, self.base), *ids)

    def _summary(self, session_id: str) -> Summary:
        meta = meta_key(session_id, self.base)
        return _summary(self._run(lambda pipe: [pipe.hget(meta, "summary")], keys=(meta,))[0])

    def _holders(self, fields: list[str]) -> list[str]:
        """The ids the names index gives these fields ('' for none)."""
        holders = self._run(lambda pipe: [pipe.hget(self.names, field) for field in fields], keys=(self.names,))
        return [holder.decode() if holder else "" for holder in holders]

    def _live(self, ids: list[str], owner: str | None = None) -> list[str]:
        """The ids that still exist (of ``owner`` or unowned, when given)."""
        if not ids:
            return []

        def commands(pipe: Any) -> None:
            for session_id in ids:
                pipe.exists(document_key(session_id, self.base))
                if owner is not None:
                    pipe.hget(meta_key(session_id, self.base), "summary")

        replies, step = self._run(commands), 1 if owner is None else 2
        return [
            session_id
            for session_id, found, summary in zip(ids, replies[::step], replies[step - 1 :: step], strict=True)
            if found and (owner is None or _summary(summary).owned_by(owner))
        ]

    def _info(self, section: str) -> dict[str, Any]:
        info = self.client.info(section)
        if info and all(isinstance(value, dict) for value in info.values()):  # a cluster: one dict per node
            info = next(iter(info.values()))
        return info


def _kind_of(key: str, base: str) -> str:
    """The kind of value the product keeps under ``key``."""
    if key.startswith(document_key("", base)):
        return "string"
    return "zset" if key == f"{base}:index" or key.startswith((f"{base}:dir:", f"{base}:owner:")) else "hash"


def _fields(owner: str, name: str) -> list[str]:
    """The names-hash fields that may hold ``owner``'s ``name``: theirs, then an unowned one (as before owners)."""
    return [name_field(owner, name), name] if owner else [name]


def _summary(raw: bytes | None) -> Summary:
    try:
        return Summary.of(orjson.loads(raw)) if raw else Summary()
    except orjson.JSONDecodeError:
        return Summary()
