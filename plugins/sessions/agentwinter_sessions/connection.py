"""The store's own connection for the two per-query scripts, and what it knows without asking Redis.

Two jobs:
- Round trips without the client's per-command pool checkout (with a poll of the socket), metrics and retry
  closures, which cost ~30 us a call here, more than the script itself.
- Server-assisted invalidation (``CLIENT TRACKING ON NOLOOP``, RESP3 pushes on this same connection): Redis
  tells this connection when anybody else writes a key it has read. A session nobody else has written since
  we last read it needs no waited-for touch before a query: the touch is sent, and its answer read with the
  save. Writes untrack a key for the writer too, so the scripts read the session key after writing it.
  Anything in doubt (a reconnect, tracking refused, a flush, a dead socket) counts as "changed".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import redis

Command = tuple[Any, ...]


class OwnConnection:
    def __init__(self, pool: redis.ConnectionPool, scripts: list[str]) -> None:
        self._pool = pool
        self._scripts = scripts  # loaded on connect: a touch sent without waiting cannot retry a NOSCRIPT
        self._connection: Any = None
        self._lock = threading.Lock()
        self._unread = 0  # commands sent whose answers are still on the wire
        self._tracking = False  # Redis reports others' writes to the keys we read
        self._seen: dict[bytes, int] = {}  # key -> version we read, nobody else has written it since

    def exchange(self, commands: list[Command]) -> list[Any]:
        """The commands in one round trip; error replies come back as exceptions, not raised."""
        with self._lock:
            connection = self._connected()
            return connection.retry.call_with_retry(
                lambda: _round_trip(connection, commands, self._take_unread), lambda _error: connection.disconnect()
            )

    def send_unless_changed(self, key: str, version: int, command: Command) -> bool:
        """Send ``command`` without waiting for its answer if nobody else has written ``key`` since this
        connection read it at ``version``; False, with nothing sent, otherwise."""
        with self._lock:
            connection = self._connection
            if connection is None or not self._tracking:
                return False
            try:
                for _ in range(self._take_unread()):
                    _read(connection)
                while connection.can_read(0):  # only pushes are left on the wire: let them arrive
                    connection.read_response(push_request=True)
                if self._seen.get(key.encode()) != version:
                    return False
                connection.send_packed_command(connection.pack_command(*command), check_health=False)
            except BaseException as error:
                connection.disconnect()  # the next exchange reconnects, and tracking starts afresh
                if isinstance(error, (redis.RedisError, OSError)):
                    return False
                raise
            self._unread += 1
            return True

    def _take_unread(self) -> int:
        unread, self._unread = self._unread, 0
        return unread

    def saw(self, key: str, version: int) -> None:
        """The last exchange's script read ``key`` at ``version`` (after any write of its own)."""
        if self._tracking:
            self._seen[key.encode()] = version

    def _connected(self) -> Any:
        if self._connection is None:
            kwargs = {**self._pool.connection_kwargs, "protocol": 3}
            connection = self._pool.connection_class(**kwargs)
            connection.register_connect_callback(self._on_connect)
            try:
                connection.connect()
            except redis.ResponseError:  # no RESP3 (Redis < 6): a RESP2 connection, every touch waits
                kwargs.update(protocol=2)
                kwargs.pop("maint_notifications_config", None)  # redis-py 8: RESP3 only
                connection = self._pool.connection_class(**kwargs)
                connection.register_connect_callback(self._on_connect)
            self._connection = connection
        return self._connection

    def _on_connect(self, connection: Any) -> None:
        """Every (re)connect: what we knew is void (writes while we were away went unreported)."""
        self._seen.clear()
        self._unread = 0
        self._tracking = False
        commands = [("SCRIPT", "LOAD", script) for script in self._scripts]
        # redis-py's own client-side cache hooks its parser the same way (redis-py < 6.4 cannot: no tracking)
        hook = getattr(connection._parser, "set_invalidation_push_handler", None)
        track = connection.protocol == 3 and hook is not None
        if track:
            hook(self._invalidated)
            commands.append(("CLIENT", "TRACKING", "ON", "NOLOOP"))
        try:
            connection.send_packed_command(connection.pack_commands(commands), check_health=False)
            replies = [_read(connection) for _ in commands]
        except BaseException:
            connection.disconnect()  # redis-py leaves a failed connect callback's socket open
            raise
        self._tracking = track and replies[-1] == b"OK"  # else (refused by an ACL, ...) every touch waits

    def _invalidated(self, push: list[Any]) -> None:
        keys = push[1] if len(push) > 1 else None
        if keys is None:  # FLUSHDB / FLUSHALL
            self._seen.clear()
        else:
            for key in keys:
                self._seen.pop(key if isinstance(key, bytes) else key.encode(), None)


def _round_trip(connection: Any, commands: list[Command], take_unread: Callable[[], int]) -> list[Any]:
    try:
        connection.send_packed_command(connection.pack_commands(commands))
        # Counted after sending: a reconnect on the way has voided the answers of earlier sends.
        for _ in range(take_unread()):  # answers to commands sent without waiting (a touch): not needed now
            _read(connection)
        return [_read(connection) for _ in commands]
    except BaseException:  # even Ctrl-C: an answer left unread would be taken for the next command's
        connection.disconnect()
        raise


def _read(connection: Any) -> Any:
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return error
