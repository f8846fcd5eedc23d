"""Every Redis failure a user meets: one line naming the cause and the fix, and no query lost."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from agentwinter_sessions import tracker

from agentwinter_core.query import run_command, run_query
from tests.helpers.app import cli_here as cli
from tests.helpers.app import err, make_app, out, project_env, user_texts
from tests.helpers.redis_server import RedisServer


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def stored_texts(server: RedisServer, app) -> list[str]:
    import orjson

    raw = server.client(1).get(f"agentwinter:session:{tracker(app).state.id}")
    return user_texts(orjson.loads(raw)["messages"]) if raw else []


def fill(server: RedisServer, *sessions: str) -> None:
    """Another program writes into db 0 until LRU eviction (sampled, so its victims vary) took these sessions.

    Each round writes about the server's 3 MB; keys written earlier grow older with every round, so they go in
    a few rounds. The bound only turns a never-evicting server into a failure instead of a hang.
    """
    keys = [f"agentwinter:session:{session_id}" for session_id in sessions]
    for round in range(100):
        with server.client(0).pipeline(transaction=False) as pipe:
            for i in range(150):
                pipe.set(f"other:{round}:{i}", b"x" * 20_000)
            pipe.execute()
        if not server.client(1).exists(*keys):
            return
    raise AssertionError(f"{keys} were never evicted")


def saved_lines(app) -> list[str]:
    return [line for line in err(app).splitlines() if "not saved yet" in line or "Session saved" in line]


def test_a_full_noeviction_server_loses_no_query(env, fake_api, monkeypatch):
    with RedisServer(extra=("--maxmemory", "3mb", "--maxmemory-policy", "noeviction")) as server:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", server.url())
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        server.client(0).config_set("maxmemory", "1")  # full: every write is refused
        run_query(app, agent, "q2")
        run_query(app, agent, "q3")
        full = f"Redis at {server.url()} is out of memory (maxmemory reached, noeviction)"
        assert saved_lines(app)[1:] == [
            f"warning: 1 query not saved yet: {full}: free memory or raise maxmemory",
            f"warning: 2 queries not saved yet: {full}: free memory or raise maxmemory",
        ]
        assert "⚠ 2 queries not saved yet: " + full in run_cache(app)
        server.client(0).config_set("maxmemory", "0")
        run_query(app, agent, "q4")
        assert saved_lines(app)[-1] == "💾 Session saved, with 3 queries that were waiting (expires in 45 min)"
        assert stored_texts(server, app) == ["q1", "q2", "q3", "q4"]
        assert "Traceback" not in err(app) and "failed in" not in err(app)


def test_a_full_server_refuses_a_new_named_session_in_one_line(env, fake_api, monkeypatch):
    with RedisServer(extra=("--maxmemory", "3mb", "--maxmemory-policy", "noeviction")) as server:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", server.url())
        server.client(0).config_set("maxmemory", "1")
        done = cli("--session", "demo", "-p", "hi", cwd=env)
        assert done.returncode == 2 and "Resuming" not in done.stderr
        assert done.stderr.strip().endswith("free memory or raise maxmemory: cannot start session demo")
        assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_an_evicting_server_is_named_and_evicted_sessions_are_saved_again(env, fake_api, monkeypatch):
    with RedisServer(extra=("--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru")) as server:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", server.url())
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        assert err(app).count("evicts keys when full (maxmemory-policy allkeys-lru)") == 1
        other, other_agent = make_app(env, session="named-one")
        run_query(other, other_agent, "someone else's")
        fill(server, tracker(app).state.id, tracker(other).state.id)
        run_query(app, agent, "q2")
        assert "is gone from Redis (expired, evicted or flushed)" in err(app)
        assert stored_texts(server, app) == ["q1", "q2"]
        listing = cli("sessions", "list", "--json", cwd=env)
        import json

        assert [row["id"] for row in json.loads(listing.stdout)] == [tracker(app).state.id]  # no ghosts
        assert "maxmemory-policy allkeys-lru" in run_cache(app)
        gone = cli("--resume", tracker(other).state.id, "-p", "hi", cwd=env)
        other_id = tracker(other).state.id
        assert gone.returncode == 2 and gone.stderr in (  # pruned by the listing, unless eviction took that entry
            f"error: no session matches '{other_id}'\n",
            f"error: session {other_id} is gone from Redis (expired, evicted or flushed)\n",
        )


@pytest.mark.slow
def test_a_vanished_session_is_named_when_asked_for(env, fake_api, redis_server):
    app, agent = make_app(env, session="named-one")
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    client = redis_server.client(1)
    client.delete(f"agentwinter:session:{session_id}", f"agentwinter:meta:{{agentwinter:session:{session_id}}}")
    for ref in (session_id, "named-one"):  # each is pruned once it was named
        gone = cli("--resume", ref, "-p", "hi", cwd=env)
        assert gone.returncode == 2 and gone.stderr == (
            f"error: session {session_id} is gone from Redis (expired, evicted or flushed)\n"
        ), gone.stderr
    assert client.zcard("agentwinter:index") == 0 and not client.hgetall("agentwinter:names")  # pruned
    assert "no session matches" in cli("--resume", session_id, "-p", "hi", cwd=env).stderr


def run_cache(app) -> str:
    before = len(out(app))
    run_command(app, "!cache")
    return out(app)[before:]


def test_a_read_only_replica_says_so_and_keeps_the_queries(env, fake_api, monkeypatch, redis_server):
    with RedisServer(extra=("--replicaof", "127.0.0.1", str(redis_server.port))) as replica:
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", replica.url())
        app, agent = make_app(env)
        run_query(app, agent, "q1")
        run_query(app, agent, "q2")
        assert saved_lines(app)[-1] == (
            f"warning: 2 queries not saved yet: Redis at {replica.url()} is a read-only replica: point redis_url "
            "at the primary, or use redis+sentinel://"
        )
        assert len(app.conversation.messages) == 4


@pytest.mark.parametrize(
    ("rules", "expected", "listing"),
    [
        (["on", ">pw", "~agentwinter:*", "+@all", "-exec"], "denied command EXEC by ACL", "ZREVRANGE"),
        (["on", ">other", "~*", "+@all"], "authentication to Redis at redis://agent:***@", ""),
    ],
)
@pytest.mark.slow
def test_acl_denial_and_a_wrong_password_are_named(env, fake_api, monkeypatch, redis_server, rules, expected, listing):
    if listing:
        rules = [*rules, f"-{listing.lower()}"]
        expected_listing = f"denied command {listing} by ACL"
    else:
        expected_listing = expected
    redis_server.client(1).acl_setuser("agent", reset=True)
    redis_server.client(1).execute_command("ACL", "SETUSER", "agent", *rules)
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis://agent:pw@127.0.0.1:{redis_server.port}/1")
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    assert expected in err(app) and "pw@" not in err(app) and "Traceback" not in err(app)
    listed = cli("sessions", "list", cwd=env)
    assert listed.returncode == 1 and expected_listing in listed.stderr and len(listed.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rediss://127.0.0.1:1/1?ssl_ca_cert=/x", "unknown parameter 'ssl_ca_cert' (did you mean ssl_ca_certs?)"),
        ("redis+sentinel://127.0.0.1:1", "Sentinel needs the service name"),
        ("redis+cluster://127.0.0.1:1/1", "a Redis Cluster has only db 0"),
        ("redis://u:secret@127.0.0.1:1/1?password=secret&db=x", "db 'x' is not a whole number"),
        ("http://127.0.0.1/1", "unknown scheme 'http'"),
    ],
)
@pytest.mark.slow
def test_a_bad_url_is_one_line_at_start(env, fake_api, monkeypatch, url, expected):
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", url)
    for args in (("-p", "hi"), ("sessions", "list")):
        done = cli(*args, cwd=env)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "secret" not in done.stderr and fake_api.message_requests() == []  # before the first query


@pytest.mark.slow
def test_unsaved_queries_are_spilled_at_exit_and_uploaded_by_the_next_run(env, fake_api, monkeypatch, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    redis_server.kill()
    run_query(app, agent, "q2")
    app.pm.hook.shutdown(app=app)
    [path] = list(Path(os.environ["XDG_DATA_HOME"]).rglob(f"{session_id}.json"))
    assert f"kept in {path}" in err(app) and stat.S_IMODE(path.stat().st_mode) == 0o600
    redis_server.start()  # empty again, as after a restart without persistence
    again, again_agent = make_app(env)
    run_query(again, again_agent, "unrelated")
    assert f"⤴ Uploaded {session_id} from {path}" in err(again) and not path.exists()
    resumed, _ = make_app(env, resume=session_id)
    assert user_texts(tracker(resumed).state.messages) == ["q1", "q2"]


@pytest.mark.slow
def test_sessions_recover_keeps_both_when_the_session_changed_meanwhile(env, fake_api, redis_server):
    import orjson
    from agentwinter_sessions.connect import target
    from agentwinter_sessions.document import summary_of
    from agentwinter_sessions.redis_store import RedisStore

    app, agent = make_app(env)
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    document = orjson.loads(redis_server.client(1).get(f"agentwinter:session:{session_id}"))
    redis_server.kill()
    run_query(app, agent, "mine")
    app.pm.hook.shutdown(app=app)
    redis_server.start()
    turn = [{"role": "user", "content": [{"type": "text", "text": "theirs"}]}, document["messages"][1]]
    theirs = {**document, "messages": [*document["messages"], *turn], "version": 2}
    raw = orjson.dumps(theirs)  # another terminal carried the session on meanwhile
    assert RedisStore(target(redis_server.url(), {}), 60).save(session_id, raw, 2, None, summary_of(theirs, len(raw)))
    done = cli("sessions", "recover", cwd=env)
    assert done.returncode == 0 and f"({session_id} changed meanwhile)" in done.stdout, done.stderr
    fresh = done.stdout.split()[1]
    assert stored_texts_of(redis_server, session_id) == ["q1", "theirs"]
    assert stored_texts_of(redis_server, fresh) == ["q1", "mine"]
    assert cli("sessions", "recover", cwd=env).stdout.startswith("Nothing to recover")


def stored_texts_of(server: RedisServer, session_id: str) -> list[str]:
    import orjson

    return user_texts(orjson.loads(server.client(1).get(f"agentwinter:session:{session_id}"))["messages"])
