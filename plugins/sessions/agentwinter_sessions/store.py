"""The Redis side of sessions: one key per session, a sorted-set index and a few small hashes.

Keys (db 1 by default):
- ``agentwinter:session:<id>``: the JSON document, with the sliding TTL;
- ``agentwinter:sessions:index``: sorted set, member id, score = expiry (server clock, microseconds) — listing
  never needs KEYS or SCAN, and sliding TTLs make it a recency order too;
- ``agentwinter:sessions:meta``: hash id -> small JSON summary for listings;
- ``agentwinter:sessions:versions``: hash id -> version, so a compare-and-set never decodes the
  big document inside Redis;
- ``agentwinter:sessions:names`` (name -> id), ``:ids`` (ids in lexical order, for prefixes) and ``:latest``
  (project directory -> the session saved there last, for ``--continue``).
Every query costs two round trips: ``touch`` before it, ``save`` after it; a save that only adds
messages sends only the new bytes, and the touch is not waited for when Redis has told us nobody else
wrote the session since we last read it (see connection.py). Redis Cluster is not supported (db 1,
multi-key scripts).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from agentwinter_sessions.connection import OwnConnection
from agentwinter_sessions.document import Write

PREFIX = "agentwinter:session:"
QUARANTINE = "agentwinter:quarantine:"
UPLOAD = "agentwinter:upload:"  # a whole value on its way in; renamed onto the session key by SAVE
INDEX = "agentwinter:sessions:index"
META = "agentwinter:sessions:meta"
VERSIONS = "agentwinter:sessions:versions"
NAMES = "agentwinter:sessions:names"
IDS = "agentwinter:sessions:ids"
LATEST = "agentwinter:sessions:latest"

Unavailable = (redis.ConnectionError, redis.TimeoutError)

# Slide the TTL of a session and its index entry; answer its stored version (nil: the key is gone).
# Every script reads the session key after its last write of it, so Redis keeps tracking it for us.
TOUCH = """
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 0 then return false end
redis.call('EXISTS', KEYS[1])
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[2]), ARGV[1])
return redis.call('HGET', KEYS[3], ARGV[1]) or '0'
"""

# Compare-and-set: write only if nobody else saved since the version we hold. A version whose key
# is gone (expired, or Redis restarted) is nobody's: writing it loses nothing. Expected version '*'
# writes whatever is there (import, restore). Mode 'append' writes the tail at an offset of the value
# we know Redis holds (answer 2 if it does not); mode 'whole' renames the upload key, sent with a plain
# SET in the same round trip — big values never pass through Lua, which costs three times a SET's time.
SAVE = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
local length = redis.call('STRLEN', KEYS[1])  -- 0: no such key (a stored session is never empty)
if ARGV[2] ~= '*' and current and current ~= ARGV[2] and length > 0 then
  if ARGV[9] == 'whole' then redis.call('DEL', KEYS[5]) end
  return {0, current}
end
if ARGV[9] == 'whole' then
  redis.call('RENAME', KEYS[5], KEYS[1])
elseif length > 0 and length == tonumber(ARGV[8]) then
  redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
else
  return {2, current or '0'}
end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[6]), ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[7])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[9] == 'whole' then redis.call('ZADD', KEYS[6], 0, ARGV[1]) end  -- an append follows a whole write
redis.call('HSET', KEYS[7], ARGV[10], ARGV[1])
redis.call('EXISTS', KEYS[1])
return {1, ARGV[3]}
"""
SAVED, CONFLICT, NEED_WHOLE = 1, 0, 2

# Prune expired index entries (a batch at a time) and answer the most recent sessions' summaries,
# optionally only those whose summary contains ARGV[2] (the JSON-encoded project directory).
LIST = """
local now = tonumber(redis.call('TIME')[1])
local gone = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, 1000)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('HDEL', KEYS[3], unpack(gone))
  redis.call('ZREM', KEYS[4], unpack(gone))
end
local limit, needle = tonumber(ARGV[1]), ARGV[2]
local ids, metas, total = {}, {}, 0
if needle == '' then
  ids = redis.call('ZRANGE', KEYS[1], '+inf', now, 'BYSCORE', 'REV', 'LIMIT', 0, limit, 'WITHSCORES')
  for i = 1, #ids, 2 do metas[#metas + 1] = redis.call('HGET', KEYS[2], ids[i]) or '' end
  return {now, redis.call('ZCARD', KEYS[1]), ids, metas}
end
local all = redis.call('ZRANGE', KEYS[1], '+inf', now, 'BYSCORE', 'REV', 'WITHSCORES')
for i = 1, #all, 2 do
  local meta = redis.call('HGET', KEYS[2], all[i]) or ''
  if string.find(meta, needle, 1, true) then
    total = total + 1
    if total <= limit then
      ids[#ids + 1], ids[#ids + 2], metas[#metas + 1] = all[i], all[i + 1], meta
    end
  end
end
return {now, total, ids, metas}
"""

# Give a session a name unless another live session has it; answer the owner when taken.
NAME = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. owner) == 1 then return owner end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[3]) end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return false
"""


@dataclass
class Listing:
    now: int
    total: int
    rows: list[tuple[str, int, bytes]]  # (id, expiry, meta json)


class Store:
    def __init__(self, url: str) -> None:
        # Fail fast: a CLI must not hang when Redis is down. from_url gives no retries unless asked.
        self.client = redis.Redis.from_url(
            url,
            db=1,  # the URL's own db, if it names one, wins
            socket_connect_timeout=0.5,
            socket_timeout=2.0,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            protocol=2,  # redis-py 8 defaults to RESP3, which Redis < 6 refuses (connection.py tries RESP3 itself)
        )
        self._touch = self.client.register_script(TOUCH)
        self._save = self.client.register_script(SAVE)
        self._list = self.client.register_script(LIST)
        self._name = self.client.register_script(NAME)
        self._token = secrets.token_hex(4)  # this process's upload key
        self._own = OwnConnection(self.client.connection_pool, [TOUCH, SAVE])  # the per-query scripts' way

    # ---- one session, per query ---------------------------------------------------------------------
    def touch(self, session_id: str, ttl: int, known: int | None = None) -> int | None:
        """Slide the TTL; the stored version, or None when the session is not in Redis. When Redis has
        reported no other write since we read version ``known``, the touch is sent without waiting."""
        keys, args = [PREFIX + session_id, INDEX, VERSIONS], [session_id, ttl]
        if known is not None and self._own.send_unless_changed(keys[0], known, _evalsha(self._touch, keys, args)):
            return known
        found = self._run(self._touch, keys, args)
        if found is None:
            return None
        self._own.saw(keys[0], int(found))
        return int(found)

    def load(self, session_id: str) -> bytes | None:
        return self.client.get(PREFIX + session_id)

    def save(self, session_id: str, expected: int | str, write: Write, ttl: int, meta: bytes, cwd: str) -> int | None:
        """Store version ``expected + 1``; None when another writer saved a different version first.
        ``expected="*"`` stores ``write`` whatever is there, as the version the document carries."""
        upload = f"{UPLOAD}{session_id}:{self._token}"
        keys = [PREFIX + session_id, VERSIONS, INDEX, META, upload, IDS, LATEST]
        version = write.version if expected == "*" else int(expected) + 1
        args = [session_id, expected, version, write.offset, write.tail, ttl, meta, write.previous or 0]
        status = NEED_WHOLE
        if write.incremental:
            status, version = self._run(self._save, keys, [*args, "append", cwd])
        if status == NEED_WHOLE:  # the value travels as a plain SET, sent with the script in one round trip
            args[4] = b""
            status, version = self._run(
                self._save, keys, [*args, "whole", cwd], ("SET", keys[4], write.whole, "EX", ttl)
            )
        if status != SAVED:
            return None
        self._own.saw(keys[0], int(version))
        return int(version)

    def _run(self, script: Any, keys: list[str], args: list[Any], *before: tuple[Any, ...]) -> Any:
        """The script's answer, after the commands ``before`` in the same round trip."""
        for _ in range(2):  # a second time only if the server had forgotten the script
            *replies, answer = self._own.exchange([*before, _evalsha(script, keys, args)])
            if not isinstance(answer, redis.exceptions.NoScriptError):
                break
            self._own.exchange([("SCRIPT", "LOAD", script.script)])
        for reply in (*replies, answer):
            if isinstance(reply, Exception):
                raise reply
        return answer

    def quarantine(self, session_id: str) -> str:
        """Move a value we cannot use aside (keeping its TTL), so nothing is ever silently deleted."""
        target = QUARANTINE + session_id
        with self.client.pipeline() as pipe:
            pipe.rename(PREFIX + session_id, target).zrem(INDEX, session_id)
            pipe.hdel(META, session_id).hdel(VERSIONS, session_id).execute()
        return target

    # ---- finding sessions -------------------------------------------------------------------------
    def resolve(self, ref: str) -> list[str]:
        """Live session ids that ``ref`` names: a name, an id, or an id prefix (several: ambiguous)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(NAMES, ref).exists(PREFIX + ref)
            pipe.zrange(IDS, f"[{ref}", f"[{ref}\xff", bylex=True, offset=0, num=10)
            named, exact, prefixed = pipe.execute()
        candidates = [named.decode()] if named else [ref] if exact else [i.decode() for i in prefixed]
        return self.live(candidates)

    def live(self, ids: list[str]) -> list[str]:
        if not ids:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.exists(PREFIX + session_id)
            return [session_id for session_id, alive in zip(ids, pipe.execute(), strict=True) if alive]

    def named(self, name: str) -> str | None:
        """The live session with this name."""
        return self._live_at(NAMES, name)

    def latest_in(self, cwd: str) -> str | None:
        """The live session saved last in this project directory."""
        return self._live_at(LATEST, cwd)

    def _live_at(self, key: str, field: str) -> str | None:
        found = self.client.hget(key, field)
        return found.decode() if found and self.live([found.decode()]) else None

    def name(self, session_id: str, name: str, old: str) -> str | None:
        """Give ``session_id`` the name (empty: none); the id of the live session that has it already."""
        owner = self._name(keys=[NAMES], args=[name, session_id, old, PREFIX])
        return owner.decode() if owner else None

    def listing(self, limit: int, needle: bytes = b"") -> Listing:
        now, total, flat, metas = self._list(keys=[INDEX, META, VERSIONS, IDS], args=[limit, needle])
        rows = [(flat[i].decode(), int(float(flat[i + 1])), metas[i // 2]) for i in range(0, len(flat), 2)]
        return Listing(int(now), int(total), rows)

    def expiring(self, within: int) -> list[tuple[str, int]]:
        """(id, version) of the sessions that expire in the next ``within`` seconds."""
        now = int(self.client.time()[0])
        ids = [i.decode() for i in self.client.zrange(INDEX, now, now + within, byscore=True)]
        versions = self.client.hmget(VERSIONS, ids) if ids else []
        return [(i, int(v or 0)) for i, v in zip(ids, versions, strict=True)]

    def remove(self, session_id: str, name: str) -> bool:
        with self.client.pipeline() as pipe:
            pipe.delete(PREFIX + session_id).zrem(INDEX, session_id).zrem(IDS, session_id)
            removed = bool(pipe.hdel(META, session_id).hdel(VERSIONS, session_id).execute()[0])
        if name:
            self.name(session_id, "", name)  # frees the name only if it is still this session's
        return removed

    def figures(self, session_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        self.client.ping()
        latency = time.perf_counter() - started
        with self.client.pipeline(transaction=False) as pipe:
            pipe.strlen(PREFIX + session_id).zcard(INDEX).info("server")
            size, count, info = pipe.execute()
        return {
            "bytes": size,
            "sessions": count,
            "redis_version": info.get("redis_version", "?"),
            "latency_ms": latency * 1000,
        }


def _evalsha(script: Any, keys: list[str], args: list[Any]) -> tuple[Any, ...]:
    return ("EVALSHA", script.sha, len(keys), *keys, *args)
