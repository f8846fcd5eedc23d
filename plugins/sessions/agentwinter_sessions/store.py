"""The Redis side of sessions: one key per session, a sorted-set index and two small hashes.

Keys (db 1 by default):
- ``agentwinter:session:<id>``: the JSON document, with the sliding TTL;
- ``agentwinter:sessions:index``: sorted set, member id, score = expiry (server clock, microseconds) — listing
  never needs KEYS or SCAN, and sliding TTLs make it a recency order too;
- ``agentwinter:sessions:meta``: hash id -> small JSON summary for listings;
- ``agentwinter:sessions:versions``: hash id -> version, so a compare-and-set never decodes the
  big document inside Redis.
Every query costs two round trips: ``touch`` before it, ``save`` after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

PREFIX = "agentwinter:session:"
QUARANTINE = "agentwinter:quarantine:"
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
# is gone (expired, or Redis restarted) is nobody's: writing it loses nothing.
SAVE = """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and current ~= ARGV[2] and redis.call('EXISTS', KEYS[1]) == 1 then return {0, current} end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
local now = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[5]), ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return {1, ARGV[3]}
"""

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

    def touch(self, session_id: str, ttl: int) -> int | None:
        """Slide the TTL; the stored version, or None when the session is not in Redis."""
        found = self._touch(keys=[PREFIX + session_id, INDEX, VERSIONS], args=[session_id, ttl])
        return None if found is None else int(found)

    def load(self, session_id: str) -> bytes | None:
        return self.client.get(PREFIX + session_id)

    def save(self, session_id: str, expected: int, value: bytes, ttl: int, meta: bytes) -> int | None:
        """Write version ``expected + 1``; None when another writer saved a different version first."""
        keys = [PREFIX + session_id, VERSIONS, INDEX, META]
        ok, version = self._save(keys=keys, args=[session_id, expected, expected + 1, value, ttl, meta])
        return int(version) if ok else None

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
