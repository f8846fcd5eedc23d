"""Compare-and-set without a script: WATCH a session's keys and read them in one round trip, write them with
MULTI ... EXEC in the next, on the same connection.

Redis refuses the EXEC (its reply is None) when a watched key changed in between: another terminal's save,
an expiry, an eviction, a flush, a value set aside. The store watches in the touch before a query, so the
save after it is one round trip. redis-py's Pipeline sends a WATCH alone and every command after it alone
too (three round trips for a read and a write), hence the connection's own public send and read here.
A Lua script does the same in one round trip, but entering Lua costs the server more than the writes.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.exceptions import ResponseError


def node_pool(client: Any, key: str) -> Any:
    """The connection pool of the server that holds ``key`` (a cluster's: the node that owns its slot)."""
    if isinstance(client, redis.RedisCluster):
        return client.get_redis_connection(client.get_node_from_key(key)).connection_pool
    return client.connection_pool


class Transaction:
    """A connection taken from its pool for a WATCH and the EXEC that ends it: what it watches stays between
    round trips."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.connection = pool.get_connection()
        self.watching = False  # a WATCH is on that no EXEC (or drop) has ended

    def send(self, *commands: tuple[Any, ...]) -> list[Any]:
        """One round trip: the replies, an error reply as its exception (not raised). After an error reply
        the connection is dropped, so no half-done MULTI or stale WATCH outlives it; a failure of the socket
        (or an interrupt) drops it too, and raises. The next send connects again (through ``connect``, which
        asks a sentinel for the current primary)."""
        connection = self.connection
        try:
            connection.connect()  # nothing to do when connected
            connection.send_packed_command(connection.pack_commands(commands))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            self.drop()
            raise
        for name, *_ in commands:
            self.watching = name == "WATCH" or (self.watching and name not in ("UNWATCH", "EXEC"))
        if any(isinstance(reply, Exception) for reply in replies):
            self.drop()
        return replies

    def drop(self) -> None:
        self.connection.disconnect()
        self.watching = False

    def release(self) -> None:
        """Back to the pool, watching nothing: after its EXEC as it is, else dropped (the server forgets the
        connection's WATCH with it)."""
        if self.watching:
            self.drop()
        self.pool.release(self.connection)
