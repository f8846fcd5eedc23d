"""``SessionStore`` on Redis: standalone, unix socket, TLS, Sentinel or Cluster, through one code path.

Keys (db 1 by default; a cluster has only db 0, where the ``agentwinter:`` prefix is the isolation), shown
with the default prefix ``agentwinter`` (``[sessions] key_prefix`` replaces it, e.g. ``agentwinter:alice``,
so an ACL user limited to ``~agentwinter:alice:*`` reaches every key of its sessions and no other's):
- ``agentwinter:session:<id>``: the JSON document, readable with ``redis-cli GET``, with the sliding TTL
  (with a key, the document encrypted: sealing.py; the meta hash stays readable);
- ``agentwinter:meta:{agentwinter:session:<id>}``: hash of version, length and listing summary, same TTL.
  Its hash tag is the document's own key name, so both live in one cluster slot and a compare-and-set
  over the two is one script on one node, while the document keeps its plain, documented name;
- ``agentwinter:upload:{…}:<token>`` (a value on its way in, renamed onto the document by the save
  script, expires by itself) and ``agentwinter:quarantine:{…}:<time>`` (an unusable value set aside, 7 days);
- ``agentwinter:index``, ``agentwinter:dir:<digest of the repository identity>`` (of the directory for a
  session without one) and ``agentwinter:owner:<digest of the owner>``: sorted sets, member id, score
  the expiry time, so listing one directory costs O(its sessions); ``agentwinter:names``: owner, a tab and
  the name -> id (names are per owner; a bare name field, as written before owners, names an unowned session).
  Indexes expire a day after their last write and entries of vanished sessions are pruned when met.

A query costs two round trips: ``touch`` before it, ``save`` after it (each one pipeline). Every save
sends the whole value: simple, never padded, and it cannot append into a value changed behind our back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import time
from typing import Any

import orjson

from agentwinter_sessions import sealing
from agentwinter_sessions.connect import Target, client
from agentwinter_sessions.failures import Corrupt, translated
from agentwinter_sessions.store import Page, Row, Summary

BASE = "agentwinter"  # the default key prefix; the names below are those of the default
INDEX = f"{BASE}:index"
NAMES = f"{BASE}:names"
INDEX_SECONDS = 24 * 3600  # an index outlives its newest session by at least this much
INDEX_REFRESH = 60.0  # seconds: how stale a session's index score (its expiry time) may get
QUARANTINE_SECONDS = 7 * 24 * 3600
CANDIDATES = 500  # sessions read per round trip when listing

# KEYS: document, meta, upload. ARGV: expected version ('' = any), version, summary, length.
# Writes unless another writer stored a different version of a document that still exists.
SAVE = """
local current = redis.call('HGET', KEYS[2], 'version')
if ARGV[1] ~= '' and current and current ~= ARGV[1] and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[3])
  return current
end
redis.call('RENAME', KEYS[3], KEYS[1])
redis.call('HSET', KEYS[2], 'version', ARGV[2], 'summary', ARGV[3], 'length', ARGV[4])
return false
"""

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
        self._token = secrets.token_hex(4)  # this process's upload key
        self._notices: list[str] = []
        # What this process last wrote into the indexes: they order by expiry, which a minute does not change
        # much, so most saves skip the four index commands (and half the Redis time of a save).
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
        upload = f"{self.base}:upload:{{{document_key(session_id, self.base)}}}:{self._token}"
        keys = (document_key(session_id, self.base), meta_key(session_id, self.base), upload)
        if self.seal is not None:  # the first query is message text: it stays out of the readable summary
            summary = dataclasses.replace(summary, first_query="")
            readable = {"id": session_id, **summary.__dict__, "message_count": summary.messages}
            del readable["messages"], readable["first_query"]  # a count in clear, not the text
            length, raw = len(raw), self.seal.seal(raw, readable)
            self._sealed[session_id] = (len(raw), length)
        meta = orjson.dumps(summary.__dict__)

        now = time.time()
        last = self._indexed.get(session_id)
        index = last is None or last[:2] != (summary.place, summary.name) or now >= last[2]

        def commands(pipe: Any) -> None:
            pipe.set(upload, raw, ex=self.ttl)  # big values never pass through Lua (3x a SET's time)
            pipe.execute_command("EVAL", SAVE, 3, *keys, "" if expected is None else expected, version, meta, len(raw))
            pipe.expire(keys[1], self.ttl)  # not in the script: from Lua a call costs several times the command
            if index:
                self._index(pipe, session_id, summary, now)

        indexes = (*self._indexes(summary), self.names)
        saved = self._run(commands, keys=(*keys[:2], *indexes))[1] is None
        if index:
            self._indexed[session_id] = (summary.place, summary.name, now + INDEX_REFRESH)
        return saved

    @translated(_where)
    def touch(self, session_id: str) -> tuple[int, int] | None:
        document, meta = document_key(session_id, self.base), meta_key(session_id, self.base)
        alive, _, version, length = self._run(
            lambda pipe: [
                pipe.expire(document, self.ttl),
                pipe.expire(meta, self.ttl),
                pipe.hget(meta, "version"),
                pipe.strlen(document),
            ],
            keys=(document, meta),
        )
        if not alive:
            self._indexed.pop(session_id, None)  # gone, and maybe pruned: the next save indexes it again
            return None
        stored, plain = self._sealed.get(session_id, (None, 0))
        return self._version(version, session_id), plain if int(length) == stored else int(length)

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

    def _index(self, pipe: Any, session_id: str, summary: Summary, now: float) -> None:
        keep = max(2 * self.ttl, INDEX_SECONDS)
        for key in self._indexes(summary):
            pipe.zadd(key, {session_id: now + self.ttl})
            pipe.expire(key, keep)
        if summary.name:
            pipe.expire(self.names, keep)

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
