"""The touch before a query is waited for only when Redis may hold a write we have not seen.

Real redis-servers throughout. ``CLIENT PAUSE ... WRITE`` makes "did not wait" observable without timing:
a paused Redis runs no script, so a touch that answers during the pause cannot have waited for one.
"""

from __future__ import annotations

import time

import pytest
from agentwinter_sessions.document import Write
from agentwinter_sessions.store import PREFIX, Store

from tests.helpers.redis_server import RedisServer

SESSION = "session-20261125-120000-0123abcd"
KEY = PREFIX + SESSION
TTL = 100


def save(store: Store, expected: int) -> int | None:
    return store.save(SESSION, expected, Write.of(b'{"messages": [], "n": %d}' % expected, 0), TTL, b"{}", "/p")


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_an_unchanged_session_is_touched_without_waiting(redis_server):
    mine, admin = Store(redis_server.url()), redis_server.client(1)
    assert save(mine, 0) == 1
    time.sleep(0.05)
    before = admin.pttl(KEY)
    admin.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
    try:
        assert mine.touch(SESSION, TTL, known=1) == 1  # answered while Redis runs no script: not waited for
        assert admin.pttl(KEY) <= before  # and it has not run yet
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert wait_for(lambda: admin.pttl(KEY) > before)  # it was sent, and slides the TTL now
    assert save(mine, 1) == 2  # its answer, still on the wire, is not taken for the save's


def test_every_write_by_someone_else_makes_the_next_touch_ask(redis_server):
    mine, theirs, admin = Store(redis_server.url()), Store(redis_server.url()), redis_server.client(1)
    assert save(mine, 0) == 1
    assert mine.touch(SESSION, TTL, known=1) == 1  # sent without waiting; its EXPIRE is a write of ours
    assert save(theirs, 1) == 2  # so the touch must read the key after it, or this would go unreported
    assert mine.touch(SESSION, TTL, known=1) == 2
    assert save(mine, 2) == 3  # the same for the save's own writes
    assert save(theirs, 3) == 4
    assert mine.touch(SESSION, TTL, known=3) == 4
    admin.append(KEY, b" ")  # any write, not only a save
    admin.hset("agentwinter:sessions:versions", SESSION, 7)
    assert mine.touch(SESSION, TTL, known=4) == 7
    admin.flushdb()
    assert mine.touch(SESSION, TTL, known=7) is None
    assert save(mine, 7) == 8  # a version whose key is gone is nobody's
    admin.client_kill_filter(_type="normal", skipme=True)  # reconnected, Redis has forgotten what we read
    assert save(theirs, 8) == 9
    assert mine.touch(SESSION, TTL, known=8) == 9


def test_a_touch_answer_lost_with_its_connection_is_not_taken_for_the_next(redis_server):
    mine, admin = Store(redis_server.url()), redis_server.client(1)
    assert save(mine, 0) == 1
    assert mine.touch(SESSION, TTL, known=1) == 1  # its answer waits on the wire...
    assert wait_for(lambda: admin.pttl(KEY) > (TTL - 1) * 1000)
    admin.client_kill_filter(_type="normal", skipme=True)  # ...and goes with the connection
    assert save(mine, 1) == 2
    assert mine.touch(SESSION, TTL, known=2) == 2
    assert save(mine, 2) == 3


def test_other_sessions_writes_do_not_count(redis_server):
    mine, theirs, admin = Store(redis_server.url()), Store(redis_server.url()), redis_server.client(1)
    assert save(mine, 0) == 1
    assert mine.touch(SESSION, TTL, known=1) == 1
    other = "session-20261125-120000-fedcba98"
    assert theirs.save(other, 0, Write.of(b'{"messages": []}', 0), TTL, b"{}", "/p") == 1  # shared index keys
    time.sleep(0.05)  # its reports are on their way to us
    admin.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
    try:
        assert mine.touch(SESSION, TTL, known=1) == 1  # still not waited for
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")


@pytest.mark.parametrize(
    "extra, user",
    [
        (("--rename-command", "HELLO", ""), ""),  # a server without RESP3 (like Redis 5): the touch always waits
        ((), "limited"),  # tracking refused by an ACL
    ],
)
def test_without_tracking_every_touch_waits(extra, user):
    with RedisServer(extra=extra) as server:
        url = server.url()
        if user:
            server.client(1).execute_command(
                "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-client|tracking"
            )
            url = f"redis://{user}:pw@127.0.0.1:{server.port}/1"
        mine, theirs = Store(url), Store(url)
        assert save(mine, 0) == 1
        assert mine.touch(SESSION, TTL, known=1) == 1
        assert save(theirs, 1) == 2
        assert mine.touch(SESSION, TTL, known=1) == 2  # asked: nothing tells us what changed
        assert save(mine, 2) == 3
        assert mine.load(SESSION) == b'{"messages": [], "n": 2}' and mine.listing(5).total == 1
