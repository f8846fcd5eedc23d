"""The private redis-server fixture: real, isolated, stoppable, restartable."""

import os

import redis

from tests.helpers.redis_server import RedisServer


def test_start_ping_stop(redis_server):
    assert redis_server.client().ping()
    pid = redis_server.pid
    redis_server.stop()
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_kill_and_restart_on_the_same_port(redis_server):
    port = redis_server.port
    redis_server.client().set("k", "v")
    redis_server.kill()
    try:
        redis_server.client().ping()
        raise AssertionError("a killed server answered")
    except redis.ConnectionError:
        pass
    redis_server.restart()
    assert redis_server.port == port and redis_server.client().ping()
    assert redis_server.client().get("k") is None  # nothing persisted


def test_two_servers_side_by_side(redis_server):
    with RedisServer() as other:
        assert other.port != redis_server.port
        other.client().set("only-here", "1")
        assert redis_server.client().get("only-here") is None
