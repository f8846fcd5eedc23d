"""The sessions plugin against a real redis-server and the fake Messages API, in process."""

from __future__ import annotations

import io
import json
import re

import pytest
from agentwinter_sessions import tracker
from agentwinter_sessions.redis_store import meta_key

from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command, run_query
from agentwinter_core.state import Conversation, QueryResult, Usage
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers.app import err, is_save, out, resume_in, user_texts

ID = re.compile(r"session-\d{8}-\d{6}-[0-9a-f]{8}")


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", f"redis://127.0.0.1:{redis_server.port}")  # no db: db 1
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "features.txt").write_text("search\nexport\nsync\n")
    return tmp_path


def make_app(env):
    pm = build_plugin_manager(disabled={"cleanup"})
    app = build_app(pm, interactive=False, project_dir=env / "project")
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    return app, build_agent(app)


def session_key(app) -> str:
    return f"agentwinter:session:{tracker(app).state.id}"


def stored(redis_server, app) -> dict:
    return json.loads(redis_server.client(1).get(session_key(app)))


def test_first_and_second_query_persist_in_db1_with_indicators(env, fake_api, redis_server):
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("3 features"), fake.text("still 3"))
    app, agent = make_app(env)
    run_query(app, agent, "how many features?")
    session_id = tracker(app).state.id
    assert ID.fullmatch(session_id)
    run_query(app, agent, "how many did you find?")
    # the second request carries the first query's tool result
    second = fake_api.message_requests()[-1]["messages"]
    result = second[2]["content"][0]
    assert result["type"] == "tool_result" and "export" in result["content"] and "sync" in result["content"]
    assert [m["role"] for m in second] == ["user", "assistant", "user", "assistant", "user"]
    lines = err(app).splitlines()
    assert lines.index(f"🆕 New session: {session_id}") < lines.index("💾 Session saved (expires in 45 min)")
    assert f"↩️  Resuming session: {session_id} (4 messages)" in lines
    assert lines.count("💾 Session saved (expires in 45 min)") == 2
    assert redis_server.client(0).keys("*") == []  # nothing in db 0
    document = stored(redis_server, app)
    assert document["format"] == 1 and document["id"] == session_id and document["version"] == 2
    assert document["messages"] == app.conversation.messages
    assert document["cwd"] == str(env / "project") and document["usage"]["output_tokens"] > 0
    assert out(app) == "3 features\nstill 3\n"
    assert fake_api.violations == []


def test_ttl_is_set_and_slid_by_every_query(env, fake_api, redis_server, monkeypatch):
    monkeypatch.setenv("AGENTWINTER_SESSION_TTL", "100")
    app, agent = make_app(env)
    run_query(app, agent, "one")
    client = redis_server.client(1)
    key, meta = session_key(app), meta_key(tracker(app).state.id)
    assert 99 <= client.ttl(key) <= 100 and 99 <= client.ttl(meta) <= 100
    client.expire(key, 50)  # time passes (driven, not waited for)
    run_query(app, agent, "two")
    assert client.ttl(key) >= 99
    client.expire(key, 50)
    client.expire(meta, 50)
    fake_api.fail_always(400, "invalid_request_error")  # a query that changes nothing still slides the TTL
    result = run_query(app, agent, "three")
    assert result.error and not result.changed
    assert client.ttl(key) >= 99 and client.ttl(meta) >= 99
    assert err(app).count("💾 Session saved (expires in 100 s)") == 2  # nothing saved for the failed query
    assert all(client.ttl(k) > 0 for k in client.keys("*"))  # every key the product wrote expires


def test_two_round_trips_per_query_and_no_full_reload(env, fake_api, redis_server, monkeypatch):
    from redis.connection import AbstractConnection

    app, agent = make_app(env)
    run_query(app, agent, "one")
    run_query(app, agent, "two")
    client = redis_server.client(1)
    client.config_resetstat()
    trips = []
    real = AbstractConnection.send_packed_command  # every round trip: a pipeline, a command, a transaction's
    monkeypatch.setattr(AbstractConnection, "send_packed_command", lambda *a, **k: trips.append(1) or real(*a, **k))
    run_query(app, agent, "three")
    monkeypatch.undo()
    assert len(trips) == 2  # touch + save
    stats = client.info("commandstats")
    assert "cmdstat_get" not in stats  # no reload of the whole value
    assert stats["cmdstat_watch"]["calls"] == 1 and stats["cmdstat_exec"]["calls"] == 1  # the save's own WATCH
    assert "cmdstat_eval" not in stats


def test_new_sessions_and_cache_commands(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "first question about search")
    first = tracker(app).state.id
    run_command(app, "!new")
    assert f"`{first}`, stays until it expires" in out(app)
    run_query(app, agent, "second question")
    second = tracker(app).state.id
    assert second != first and redis_server.client(1).exists(f"agentwinter:session:{first}")
    run_command(app, "!sessions")
    table = out(app).split("stays until it expires.")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 2
    assert rows[0].startswith("| ▶ | `" + second) and "second question" in rows[0]
    assert rows[1].startswith(f"|  | `{first}`") and "first question about search" in rows[1]
    assert "| 45m |" in rows[0] or "| 44m |" in rows[0]
    run_command(app, "!cache")
    text = out(app)
    assert "cache read:" in text and "hit ratio:" in text and "estimated saving" in text
    assert "sessions: 2" in text and "Redis 7" in text and "round trip:" in text and "db 1" in text


def test_redis_killed_mid_run_and_restarted_loses_nothing(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    redis_server.kill()
    run_query(app, agent, "q2")
    run_query(app, agent, "q3")
    lines = err(app).splitlines()
    unreachable = f"Redis at redis://127.0.0.1:{redis_server.port} is unreachable"
    assert [line for line in lines if "not saved yet" in line][-2:] == [
        f"warning: 1 query not saved yet: {unreachable} (Error 111 connecting to 127.0.0.1:{redis_server.port}. "
        "Connection refused.)",
        f"warning: 2 queries not saved yet: {unreachable} (Error 111 connecting to 127.0.0.1:{redis_server.port}. "
        "Connection refused.)",
    ]  # every query that is not saved says so, with the cause
    assert "Traceback" not in err(app)
    redis_server.restart()  # empty: the server kept nothing
    run_query(app, agent, "q4")
    assert "is gone from Redis (expired, evicted or flushed)" in err(app)
    assert "💾 Session saved, with 3 queries that were waiting" in err(app)
    assert user_texts(stored(redis_server, app)["messages"]) == ["q1", "q2", "q3", "q4"]
    assert [row.id for row in tracker(app).store.listing(None, 10).rows] == [tracker(app).state.id]  # indexed again


@pytest.mark.parametrize("url", ["redis://agent:hunter2@127.0.0.1:9/1", "redis://127.0.0.1:9/1?password=hunter2"])
def test_unreachable_at_start_redacts_the_password(env, fake_api, monkeypatch, url):
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", url)
    app, agent = make_app(env)
    run_query(app, agent, "hello")
    assert "127.0.0.1:9/1" in err(app) and "is unreachable" in err(app) and "***" in err(app)
    assert "hunter2" not in err(app) + out(app)
    assert app.conversation.messages  # the session goes on in memory


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "a JSON list"),
        (b'{"format": 99, "messages": []}', "format 99 is newer"),
        (None, "a hash where the JSON document belongs"),
    ],
)
@pytest.mark.parametrize("newer", [False, True])
@pytest.mark.slow
def test_corrupt_values_are_quarantined_not_deleted(env, fake_api, redis_server, value, reason, newer):
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    client = redis_server.client(1)
    key = f"agentwinter:session:{session_id}"
    if value is None:
        client.delete(key)
        client.hset(key, "a", "b")  # a hash where the JSON string belongs
        value = {b"a": b"b"}
    else:
        client.set(key, value, keepttl=True)
    if newer:
        client.hset(meta_key(session_id), "version", 7)  # as if another process wrote it
    run_query(app, agent, "q2")
    assert f"stored session {session_id} could not be used ({reason}" in err(app)
    [kept] = client.keys(f"agentwinter:quarantine:{{{key}}}:*")
    assert (client.hgetall(kept) if isinstance(value, dict) else client.get(kept)) == value
    assert client.ttl(kept) > 0
    assert user_texts(stored(redis_server, app)["messages"]) == ["q1", "q2"]  # nothing lost, same session
    assert "Traceback" not in err(app) and "failed in" not in err(app)


def test_two_writers_on_one_session_lose_no_turn(env, fake_api, redis_server):
    app_a, agent_a = make_app(env)
    run_query(app_a, agent_a, "a1")
    app_b, agent_b = make_app(env)
    resume_in(app_b, tracker(app_a).state.id)

    def b_writes_while_a_waits(_body):
        run_query(app_b, agent_b, "b2")  # saves version 2 while A's query is in flight
        return fake.text("answer a2")

    fake_api.add(b_writes_while_a_waits, fake.text("answer b2"))
    run_query(app_a, agent_a, "a2")
    document = stored(redis_server, app_a)
    texts = [b.get("text") for m in document["messages"] for b in m["content"] if b.get("type") == "text"]
    assert texts == ["a1", "fake answer", "b2", "answer b2", "a2", "answer a2"]
    assert document["version"] == 3
    assert fake_api.violations == []


def test_turns_saved_by_another_terminal_between_queries_reach_the_model(env, fake_api, redis_server):
    app_a, agent_a = make_app(env)
    run_query(app_a, agent_a, "a1")
    run_query(app_a, agent_a, "a2")
    app_b, agent_b = make_app(env)
    resume_in(app_b, tracker(app_a).state.id)
    for theirs, mine in (("b3", "a4"), ("b5", "a6")):  # after A's save, then after A's reload and save
        run_query(app_b, agent_b, theirs)
        run_query(app_a, agent_a, mine)
        sent = fake_api.message_requests()[-1]["messages"]
        assert user_texts(sent)[-2:] == [theirs, mine]
    assert err(app_a).count("was updated by another agentwinter") == 2
    assert user_texts(stored(redis_server, app_a)["messages"]) == ["a1", "a2", "b3", "a4", "b5", "a6"]
    assert fake_api.violations == []


def test_a_save_whose_answer_is_lost_is_not_applied_twice(env, fake_api, redis_server, monkeypatch):
    """Redis ran the save but the reply was lost: the save reads again, finds its own write (not another
    writer's) and is done, in the same query."""
    import redis
    from agentwinter_sessions.transaction import Transaction

    app, agent = make_app(env)
    run_query(app, agent, "one")
    real, lost = Transaction.send, []

    def reply_lost_once(self, *commands):
        replies = real(self, *commands)
        if not lost and is_save(commands):
            lost.append(True)
            raise redis.TimeoutError("reply lost")
        return replies

    monkeypatch.setattr(Transaction, "send", reply_lost_once)
    run_query(app, agent, "two")
    assert lost and "not saved yet" not in err(app) and "another agentwinter" not in err(app)
    assert user_texts(stored(redis_server, app)["messages"]) == ["one", "two"]
    run_query(app, agent, "three")
    document = stored(redis_server, app)
    assert user_texts(document["messages"]) == ["one", "two", "three"]
    assert document["messages"] == tracker(app).state.messages


def test_thinking_and_tool_use_survive_save_and_load(env, fake_api, redis_server):
    fake_api.add(
        fake.with_thinking(fake.tool_use("read_file", {"path": "features.txt"}), "read the list"),
        fake.with_thinking(fake.text("three"), "count them"),
        fake.text("again"),
    )
    app, agent = make_app(env)
    run_query(app, agent, "count")
    other, other_agent = make_app(env)
    resume_in(other, tracker(app).state.id)
    run_query(other, other_agent, "once more")
    assert fake_api.violations == []
    sent = fake_api.message_requests()[-1]["messages"]
    thinking = [b for m in sent for b in m["content"] if b.get("type") == "thinking"]
    assert [t["thinking"] for t in thinking] == ["read the list", "count them"]
    fake.validate({"model": "m", "max_tokens": 1, "messages": sent})  # still bound to the same history


def test_long_session_warning_and_size_limit(env, fake_api, redis_server):
    (env / "config.toml").write_text("[sessions]\nwarn_messages = 3\nmax_bytes = 2000\n")
    app, agent = make_app(env)
    run_query(app, agent, "short")
    assert redis_server.client(1).exists(session_key(app))
    run_query(app, agent, "a much longer question " * 100)
    assert "over the 2,000-byte limit" in err(app) and "continues in memory" in err(app)
    assert err(app).count("type !new to start fresh") == 1
    run_query(app, agent, "third")
    assert len(fake_api.message_requests()[-1]["messages"]) == 5  # history kept in memory


def test_every_save_stores_the_whole_document_compactly(env, fake_api, redis_server):
    """Whatever the edit, Redis holds exactly the document in memory, in about its own size."""
    (env / "project" / "features.txt").write_text("a feature\n" * 3000)
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("3 features"))
    app, agent = make_app(env)
    client = redis_server.client(1)
    for query in ("how many features?", "and now?", "once more"):
        run_query(app, agent, query)
        document = stored(redis_server, app)
        assert document["messages"] == app.conversation.messages
        assert document["version"] == tracker(app).state.version
        size = client.strlen(session_key(app))
        assert client.memory_usage(session_key(app)) <= 1.2 * size
    kinds = {key.split(b":")[1] for key in client.keys("*")}  # nothing on its way in is left behind
    assert kinds == {b"session", b"meta", b"index", b"dir", b"owner"}, kinds


def test_redis_restored_from_an_older_snapshot_loses_no_turn(env, fake_api, redis_server):
    """Redis restarted from an RDB file taken two queries ago: this process's newer history wins."""
    app, agent = make_app(env)
    run_query(app, agent, "one")
    client = redis_server.client(1)
    key, meta = session_key(app), meta_key(tracker(app).state.id)
    old_value, old_meta = client.get(key), client.hgetall(meta)
    run_query(app, agent, "two")
    run_query(app, agent, "three")
    client.set(key, old_value, ex=2700)  # what a restore from that snapshot puts back
    client.hset(meta, mapping=old_meta)
    run_query(app, agent, "four")
    assert "Redis holds an older version of session" in err(app)
    texts = user_texts(stored(redis_server, app)["messages"])
    assert texts == ["one", "two", "three", "four"]
    assert user_texts(fake_api.message_requests()[-1]["messages"]) == texts


def test_a_stored_session_emptied_by_undo_is_saved_empty(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "one")
    app.conversation = Conversation()  # what !undo of every query leaves, then reports as a changed history
    tracker(app).after_response(QueryResult("!undo", Usage(), 0.0))
    assert stored(redis_server, app)["messages"] == []


def test_ctrl_c_while_saving_saves_anyway(env, fake_api, redis_server, monkeypatch):
    from agentwinter_sessions.transaction import Transaction

    app, agent = make_app(env)
    run_query(app, agent, "one")
    real, cut = Transaction.send, []

    def interrupted_once(self, *commands):
        if not cut and is_save(commands):  # Ctrl-C lands while the save is on its way
            cut.append(True)
            raise KeyboardInterrupt
        return real(self, *commands)

    monkeypatch.setattr(Transaction, "send", interrupted_once)
    result = run_query(app, agent, "two")  # no KeyboardInterrupt escapes the query
    assert cut and not result.error
    assert "interrupted while saving: saving once more" in err(app) and "not saved yet" not in err(app)
    assert user_texts(stored(redis_server, app)["messages"]) == ["one", "two"]


def test_ctrl_c_while_touching_cancels_that_query_only(env, fake_api, redis_server, monkeypatch):
    from agentwinter_sessions.redis_store import RedisStore

    from agentwinter_core.repl import run_lines

    app, agent = make_app(env)
    run_query(app, agent, "one")
    real, cut = RedisStore.touch, []

    def interrupted_once(self, session_id):
        if not cut:  # Ctrl-C lands while the touch before the next query waits on Redis
            cut.append(True)
            raise KeyboardInterrupt
        return real(self, session_id)

    monkeypatch.setattr(RedisStore, "touch", interrupted_once)
    run_lines(app, agent, ["two", "three"])  # the process goes on
    assert cut and app.failed_queries == 1 and "warning: interrupted" in err(app)
    assert user_texts(stored(redis_server, app)["messages"]) == ["one", "three"]
    assert user_texts(fake_api.message_requests()[-1]["messages"]) == ["one", "three"]
