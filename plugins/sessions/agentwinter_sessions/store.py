"""The Redis side of sessions: one key per session, a sorted-set index and two small hashes.

Keys (db 1 by default):
- ``agentwinter:session:<id>``: the JSON document, with the sliding TTL;
- ``agentwinter:sessions:index``: sorted set, member id, score = expiry (server clock, microseconds) — listing
  never needs KEYS or SCAN, and sliding TTLs make it a recency order too;
- ``agentwinter:sessions:meta``: hash id -> small JSON summary for listings;
- ``agentwinter:sessions:versions``: hash id -> version, so a compare-and-set never decodes the
  big document inside Redis.
Every query costs two round trips: ``touch`` before it, ``save`` after it; a save that only adds
messages sends only the new bytes.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from agentwinter_sessions.document import Write

PREFIX = "agentwinter:session:"
QUARANTINE = "agentwinter:quarantine:"
UPLOAD = "agentwinter:upload:"  # a whole value on its way in; renamed onto the session key by SAVE
INDEX = "agentwinter:sessions:index"
META = "agentwinter:sessions:meta"
VERSIONS = "agentwinter:sessions:versions"

Unavailable = (redis.ConnectionError, redis.TimeoutError)

# Slide the TTL of a session and its index entry; answer its stored version (nil: the key is gone).
TOUCH = """
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 0 then return false end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[2]), ARGV[1])
return redis.call('HGET', KEYS[3], ARGV[1]) or '0'
"""

# Compare-and-set: write only if nobody else saved since the version we hold. A version whose key
# is gone (expired, or Redis restarted) is nobody's: writing it loses nothing. Mode 'append' writes the
# tail at an offset of the value we know Redis holds (answer 2 if it does not); mode 'whole' renames the
# upload key, sent with a plain SET in the same round trip — big values never pass through Lua, which
# costs three times a SET's server time.
SAVE = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
local exists = redis.call('EXISTS', KEYS[1]) == 1
if current and current ~= ARGV[2] and exists then
  if ARGV[9] == 'whole' then redis.call('DEL', KEYS[5]) end
  return {0, current}
end
if ARGV[9] == 'whole' then
  redis.call('RENAME', KEYS[5], KEYS[1])
elseif exists and redis.call('STRLEN', KEYS[1]) == tonumber(ARGV[8]) then
  redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
else
  return {2, current or '0'}
end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[6]), ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[7])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return {1, ARGV[3]}
"""
SAVED, CONFLICT, NEED_WHOLE = 1, 0, 2

# Prune expired index entries (a batch at a time) and answer the most recent sessions' summaries.
LIST = """
local now = tonumber(redis.call('TIME')[1])
local gone = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, 1000)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('HDEL', KEYS[3], unpack(gone))
end
local ids = redis.call('ZRANGE', KEYS[1], '+inf', now, 'BYSCORE', 'REV', 'LIMIT', 0, ARGV[1], 'WITHSCORES')
local metas = {}
for i = 1, #ids, 2 do metas[#metas + 1] = redis.call('HGET', KEYS[2], ids[i]) or '' end
return {now, redis.call('ZCARD', KEYS[1]), ids, metas}
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
        )
        self._touch = self.client.register_script(TOUCH)
        self._save = self.client.register_script(SAVE)
        self._list = self.client.register_script(LIST)
        self._token = secrets.token_hex(4)  # this process's upload key

    def touch(self, session_id: str, ttl: int) -> int | None:
        """Slide the TTL; the stored version, or None when the session is not in Redis."""
        found = self._touch(keys=[PREFIX + session_id, INDEX, VERSIONS], args=[session_id, ttl])
        return None if found is None else int(found)

    def load(self, session_id: str) -> bytes | None:
        return self.client.get(PREFIX + session_id)

    def save(self, session_id: str, expected: int, write: Write, ttl: int, meta: bytes) -> int | None:
        """Store version ``expected + 1``; None when another writer saved a different version first."""
        upload = f"{UPLOAD}{session_id}:{self._token}"
        keys = [PREFIX + session_id, VERSIONS, INDEX, META, upload]
        args = [session_id, expected, expected + 1, write.offset, write.tail, ttl, meta, write.previous or 0]
        status = NEED_WHOLE
        if write.incremental:
            status, version = self._save(keys=keys, args=[*args, "append"])
        if status == NEED_WHOLE:
            status, version = self._save_whole(keys, args, write.whole, ttl)
        return int(version) if status == SAVED else None

    def _save_whole(self, keys: list[str], args: list[Any], value: bytes, ttl: int) -> list[Any]:
        args[4] = b""  # no tail: the value travels as a plain SET
        for _ in range(2):  # a second time only if the server had forgotten the script
            with self.client.pipeline(transaction=False) as pipe:
                pipe.set(keys[4], value, ex=ttl)
                pipe.evalsha(self._save.sha, len(keys), *keys, *args, "whole")
                _, answer = pipe.execute(raise_on_error=False)
            if not isinstance(answer, redis.exceptions.NoScriptError):
                break
            self.client.script_load(SAVE)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def quarantine(self, session_id: str) -> str:
        """Move a value we cannot use aside (keeping its TTL), so nothing is ever silently deleted."""
        target = QUARANTINE + session_id
        with self.client.pipeline() as pipe:
            pipe.rename(PREFIX + session_id, target).zrem(INDEX, session_id)
            pipe.hdel(META, session_id).hdel(VERSIONS, session_id).execute()
        return target

    def listing(self, limit: int) -> Listing:
        now, total, flat, metas = self._list(keys=[INDEX, META, VERSIONS], args=[limit])
        rows = [(flat[i].decode(), int(float(flat[i + 1])), metas[i // 2]) for i in range(0, len(flat), 2)]
        return Listing(int(now), int(total), rows)

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
