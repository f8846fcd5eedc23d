"""``SessionStore`` on Redis: standalone, unix socket, TLS, Sentinel or Cluster, through one code path.

Keys (db 1 by default; a cluster has only db 0, where the ``agentwinter:`` prefix is the isolation):
- ``agentwinter:session:<id>``: the JSON document, readable with ``redis-cli GET``, with the sliding TTL;
- ``agentwinter:meta:{agentwinter:session:<id>}``: hash of version, length and listing summary, same TTL.
  Its hash tag is the document's own key name, so both live in one cluster slot and a compare-and-set
  over the two is one script on one node, while the document keeps its plain, documented name;
- ``agentwinter:upload:{…}:<token>`` (a value on its way in, renamed onto the document by the save
  script, expires by itself) and ``agentwinter:quarantine:{…}:<time>`` (an unusable value set aside, 7 days);
- ``agentwinter:index`` and ``agentwinter:dir:<digest of the directory>``: sorted sets, member id, score
  the expiry time, so listing one directory costs O(its sessions); ``agentwinter:names``: name -> id.
  Indexes expire a day after their last write and entries of vanished sessions are pruned when met.

A query costs two round trips: ``touch`` before it, ``save`` after it (each one pipeline). Every save
sends the whole value: simple, never padded, and it cannot append into a value changed behind our back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any

import orjson

from agentwinter_sessions.connect import Target, client
from agentwinter_sessions.failures import Corrupt, translated
from agentwinter_sessions.store import Page, Row, Summary

PREFIX = "agentwinter:session:"
INDEX = "agentwinter:index"
NAMES = "agentwinter:names"
INDEX_SECONDS = 24 * 3600  # an index outlives its newest session by at least this much
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
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
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

# KEYS: names. ARGV: name, id. Frees the name if it is still this session's.
UNNAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def document_key(session_id: str) -> str:
    return PREFIX + session_id


def meta_key(session_id: str) -> str:
    return f"agentwinter:meta:{{{PREFIX}{session_id}}}"


def directory_key(directory: str) -> str:
    return "agentwinter:dir:" + hashlib.sha256(directory.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _where(store: RedisStore) -> str:
    return store.target.shown


class RedisStore:
    def __init__(self, target: Target, ttl: int) -> None:
        self.target = target
        self.ttl = ttl
        self._client: Any = None
        self._token = secrets.token_hex(4)  # this process's upload key

    @property
    def client(self) -> Any:
        if self._client is None:  # a cluster client connects as it is made: inside the translated call
            self._client = client(self.target)
        return self._client

    # ---- one session --------------------------------------------------------------------------------
    @translated(_where)
    def load(self, session_id: str) -> tuple[bytes, int] | None:
        raw, version = self._run(
            lambda pipe: [pipe.get(document_key(session_id)), pipe.hget(meta_key(session_id), "version")],
            corrupt=session_id,
        )
        return None if raw is None else (raw, int(version or 0))

    @translated(_where)
    def save(self, session_id: str, raw: bytes, version: int, expected: int | None, summary: Summary) -> bool:
        upload = f"agentwinter:upload:{{{PREFIX}{session_id}}}:{self._token}"
        keys = (document_key(session_id), meta_key(session_id), upload)
        meta = orjson.dumps(summary.__dict__)

        def commands(pipe: Any) -> None:
            pipe.set(upload, raw, ex=self.ttl)  # big values never pass through Lua (3x a SET's time)
            pipe.execute_command("EVAL", SAVE, 3, *keys, "" if expected is None else expected, version, meta, len(raw))
            self._indexed(pipe, session_id, summary, time.time())

        return self._run(commands)[1] is None

    @translated(_where)
    def touch(self, session_id: str) -> tuple[int, int] | None:
        document, meta = document_key(session_id), meta_key(session_id)
        alive, _, version, length = self._run(
            lambda pipe: [
                pipe.expire(document, self.ttl),
                pipe.expire(meta, self.ttl),
                pipe.hget(meta, "version"),
                pipe.strlen(document),
            ],
            corrupt=session_id,
        )
        return (int(version or 0), int(length)) if alive else None

    @translated(_where)
    def delete(self, session_id: str) -> bool:
        summary = self._summary(session_id)

        def commands(pipe: Any) -> None:
            pipe.delete(document_key(session_id))  # one key a DEL: a cluster pipeline takes no more
            pipe.delete(meta_key(session_id))
            self._unindexed(pipe, [session_id], summary.cwd)

        removed = self._run(commands)[0]
        if summary.name:
            self.client.eval(UNNAME, 1, NAMES, summary.name, session_id)
        return bool(removed)

    @translated(_where)
    def quarantine(self, session_id: str) -> str:
        summary = self._summary(session_id)
        target = f"agentwinter:quarantine:{{{PREFIX}{session_id}}}:{time.strftime('%Y%m%d-%H%M%S')}"

        def commands(pipe: Any) -> None:
            pipe.execute_command("RENAME", document_key(session_id), target)  # one slot: the hash tag
            pipe.expire(target, QUARANTINE_SECONDS)
            pipe.delete(meta_key(session_id))
            self._unindexed(pipe, [session_id], summary.cwd)

        self._run(commands)
        return target

    # ---- finding sessions -----------------------------------------------------------------------------
    @translated(_where)
    def listing(self, directory: str | None, limit: int, offset: int = 0) -> Page:
        key = INDEX if directory is None else directory_key(directory)
        rows: list[Row] = []
        start = offset
        while len(rows) < limit:
            stop = start + min(limit - len(rows), CANDIDATES) - 1
            ids = [i.decode() for i in self.client.zrevrange(key, start, stop)]
            if not ids:
                break
            found = self._rows(ids, directory)
            rows += found
            start += len(found)  # the gone ones were pruned: what follows moved up
        return Page(rows, max(0, int(self.client.zcard(key)) - start))

    def _rows(self, ids: list[str], directory: str | None) -> list[Row]:
        """The rows of ``ids`` that still exist; the others are pruned from the indexes."""

        def commands(pipe: Any) -> None:
            for session_id in ids:
                pipe.hget(meta_key(session_id), "summary")
                pipe.ttl(document_key(session_id))

        replies = self._run(commands)
        rows, gone = [], []
        for session_id, raw, ttl in zip(ids, replies[::2], replies[1::2], strict=True):
            if ttl < 0 and ttl != -1:  # -2: gone (-1, no TTL: set by hand; listed all the same)
                gone.append(session_id)
                continue
            rows.append(Row(session_id, max(ttl, 0), _summary(raw)))
        if gone:
            self._run(lambda pipe: self._unindexed(pipe, gone, directory))
        return rows

    @translated(_where)
    def resolve(self, ref: str) -> list[str]:
        named = self.named(ref)
        if named is not None:
            return [named]
        if self.client.exists(document_key(ref)):
            return [ref]
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", ref) + "*"
        candidates = [member.decode() for member, _ in self.client.zscan_iter(INDEX, match=pattern, count=1000)]
        return self._live(candidates[:20])[:10]

    @translated(_where)
    def named(self, name: str) -> str | None:
        owner = self.client.hget(NAMES, name)
        if owner is None:
            return None
        return owner.decode() if self._live([owner.decode()]) else None

    @translated(_where)
    def vanished(self, ref: str) -> str | None:
        owner = self.client.hget(NAMES, ref)
        session_id = owner.decode() if owner else ref
        if (not owner and self.client.zscore(INDEX, ref) is None) or self._live([session_id]):
            return None
        if owner:
            self.client.eval(UNNAME, 1, NAMES, ref, session_id)
        self._run(lambda pipe: self._unindexed(pipe, [session_id], None))
        return session_id

    @translated(_where)
    def claim_name(self, session_id: str, name: str, old: str) -> str | None:
        for _ in range(3):  # another process may claim or free it between our two steps
            owner = (self.client.hget(NAMES, name) or b"").decode() if name else ""
            if owner and owner != session_id and self._live([owner]):
                return owner
            if not name:
                if old:
                    self.client.eval(UNNAME, 1, NAMES, old, session_id)
                return None
            if self.client.eval(NAME, 1, NAMES, name, owner, session_id, old) is None:
                self.client.expire(NAMES, max(2 * self.ttl, INDEX_SECONDS))
                return None
        return owner or None

    @translated(_where)
    def expiring(self, within: int) -> list[tuple[str, int]]:
        ids = [i.decode() for i in self.client.zrangebyscore(INDEX, "-inf", time.time() + within, 0, CANDIDATES)]

        def commands(pipe: Any) -> None:
            for session_id in ids:
                pipe.ttl(document_key(session_id))
                pipe.hget(meta_key(session_id), "version")

        replies = self._run(commands) if ids else []
        gone = [i for i, ttl in zip(ids, replies[::2], strict=True) if ttl == -2]
        if gone:
            self._run(lambda pipe: self._unindexed(pipe, gone, None))
        pairs = zip(ids, replies[::2], replies[1::2], strict=True)
        return [(i, int(version or 0)) for i, ttl, version in pairs if 0 <= ttl <= within]

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
        size, count = self._run(lambda pipe: [pipe.strlen(document_key(session_id)), pipe.zcard(INDEX)])
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
    def _run(self, commands: Any, corrupt: str | None = None) -> list[Any]:
        """One round trip (one pipeline, or one per node on a cluster); raises the first error reply."""
        with self.client.pipeline(transaction=False) as pipe:
            commands(pipe)
            replies = pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, Exception):
                if corrupt is not None and str(reply).startswith("WRONGTYPE"):
                    kind = self.client.type(document_key(corrupt)).decode()
                    raise Corrupt(f"a {kind} where the JSON document belongs")
                raise reply
        return replies

    def _indexed(self, pipe: Any, session_id: str, summary: Summary, now: float) -> None:
        keep = max(2 * self.ttl, INDEX_SECONDS)
        for key in (INDEX, directory_key(summary.cwd)):
            pipe.zadd(key, {session_id: now + self.ttl})
            pipe.expire(key, keep)
        if summary.name:
            pipe.expire(NAMES, keep)

    def _unindexed(self, pipe: Any, ids: list[str], directory: str | None) -> None:
        pipe.zrem(INDEX, *ids)
        if directory is not None:
            pipe.zrem(directory_key(directory), *ids)

    def _summary(self, session_id: str) -> Summary:
        return _summary(self.client.hget(meta_key(session_id), "summary"))

    def _live(self, ids: list[str]) -> list[str]:
        if not ids:
            return []
        alive = self._run(lambda pipe: [pipe.exists(document_key(i)) for i in ids])
        return [i for i, found in zip(ids, alive, strict=True) if found]

    def _info(self, section: str) -> dict[str, Any]:
        info = self.client.info(section)
        if info and all(isinstance(value, dict) for value in info.values()):  # a cluster: one dict per node
            info = next(iter(info.values()))
        return info


def _summary(raw: bytes | None) -> Summary:
    try:
        return Summary.of(orjson.loads(raw)) if raw else Summary()
    except orjson.JSONDecodeError:
        return Summary()
