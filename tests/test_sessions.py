"""The sessions plugin against a real redis-server and the fake Messages API, in process."""

from __future__ import annotations

import io
import json
import re
import time

import orjson
import pytest
from agentwinter_sessions import tracker
from agentwinter_sessions.document import decode

from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command, run_query
from agentwinter_core.state import Conversation, QueryResult, Usage
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake

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


def err(app) -> str:
    return app.ui.err.file.getvalue()


def out(app) -> str:
    return app.ui.out.file.getvalue()


def session_key(app) -> str:
    return f"agentwinter:session:{tracker(app).id}"


def stored(redis_server, app) -> dict:
    return json.loads(redis_server.client(1).get(session_key(app)))


def test_first_and_second_query_persist_in_db1_with_indicators(env, fake_api, redis_server):
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("3 features"), fake.text("still 3"))
    app, agent = make_app(env)
    run_query(app, agent, "how many features?")
    session_id = tracker(app).id
    assert ID.fullmatch(session_id)
    run_query(app, agent, "how many did you find?")
    # the second request carries the first query's tool result
    second = fake_api.message_requests()[-1]["messages"]
    result = second[2]["content"][0]
    assert result["type"] == "tool_result" and "export" in result["content"] and "sync" in result["content"]
    assert [m["role"] for m in second] == ["user", "assistant", "user", "assistant", "user"]
    lines = err(app).splitlines()
    assert f"🆕 New session: {session_id}" in lines
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
    assert 99 <= client.ttl(session_key(app)) <= 100
    time.sleep(2.1)
    assert client.ttl(session_key(app)) <= 98
    run_query(app, agent, "two")
    assert client.ttl(session_key(app)) >= 99
    time.sleep(2.1)
    fake_api.fail_always(400, "invalid_request_error")  # a query that changes nothing still slides the TTL
    result = run_query(app, agent, "three")
    assert result.error and not result.changed
    assert client.ttl(session_key(app)) >= 99
    assert "💾 Session saved (expires in 100 s)" in err(app)


def test_two_round_trips_per_query_and_no_full_reload(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "one")
    run_query(app, agent, "two")  # both scripts are loaded into Redis by now
    client = redis_server.client(1)
    client.config_resetstat()
    run_query(app, agent, "three")
    stats = client.info("commandstats")
    # commands the client sent (what scripts call inside Redis is counted too, but is no round trip)
    sent = {
        name: value["calls"]
        for name, value in stats.items()
        if name in ("cmdstat_evalsha", "cmdstat_get", "cmdstat_getex", "cmdstat_eval")
    }
    assert sent == {"cmdstat_evalsha": 2}  # touch + save; no GET of the whole value


def test_new_sessions_and_cache_commands(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "first question about search")
    first = tracker(app).id
    run_command(app, "!new")
    assert f"`{first}`, stays until it expires" in out(app)
    run_query(app, agent, "second question")
    second = tracker(app).id
    assert second != first and redis_server.client(1).exists(f"agentwinter:session:{first}")
    run_command(app, "!sessions")
    table = out(app).split("stays until it expires.")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 2
    assert rows[0].startswith("| ▶ | `" + second) and "second question" in rows[0]
    assert rows[1].startswith(f"|  | `{first}`") and "first question about search" in rows[1]
    assert "| 45m |" in rows[0]
    run_command(app, "!cache")
    text = out(app)
    assert "cache read:" in text and "hit ratio:" in text and "estimated saving" in text
    assert "sessions: 2" in text and "Redis 7" in text and "round trip:" in text


def test_redis_killed_mid_run_and_restarted_loses_nothing(env, fake_api, redis_server):
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    redis_server.kill()
    run_query(app, agent, "q2")
    run_query(app, agent, "q3")
    assert err(app).count("is unreachable") == 1  # one warning, not one per query
    assert "Traceback" not in err(app)
    redis_server.restart()  # empty: the server kept nothing
    run_query(app, agent, "q4")
    assert "is back" in err(app)
    texts = [b["text"] for m in stored(redis_server, app)["messages"] if m["role"] == "user" for b in m["content"]]
    assert texts == ["q1", "q2", "q3", "q4"]


def test_unreachable_at_start_redacts_the_password(env, fake_api, monkeypatch):
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", "redis://agent:hunter2@127.0.0.1:9/1")
    app, agent = make_app(env)
    started = time.monotonic()
    run_query(app, agent, "hello")
    assert time.monotonic() - started < 5  # fails fast, no hang
    assert "redis://agent:***@127.0.0.1:9/1 is unreachable" in err(app)
    assert "hunter2" not in err(app) + out(app)
    assert app.conversation.messages  # the session goes on in memory


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "a JSON list"),
        (b'{"format": 99, "messages": []}', "format 99 is newer"),
    ],
)
def test_corrupt_values_are_quarantined_not_deleted(env, fake_api, redis_server, value, reason):
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    old = tracker(app).id
    client = redis_server.client(1)
    client.set(f"agentwinter:session:{old}", value, keepttl=True)
    client.hset("agentwinter:sessions:versions", old, 7)  # as if another process wrote it
    run_query(app, agent, "q2")
    assert f"session {old} could not be used ({reason}" in err(app)
    assert client.get(f"agentwinter:quarantine:{old}") == value
    assert client.ttl(f"agentwinter:quarantine:{old}") > 0
    assert tracker(app).id != old and client.exists(session_key(app))
    assert "Traceback" not in err(app)


def test_two_writers_on_one_session_lose_no_turn(env, fake_api, redis_server):
    app_a, agent_a = make_app(env)
    run_query(app_a, agent_a, "a1")
    app_b, agent_b = make_app(env)
    tracker(app_b).adopt(decode(redis_server.client(1).get(session_key(app_a))))
    tracker(app_b).before_query  # noqa: B018 - B resumes the same session id
    assert tracker(app_b).id == tracker(app_a).id

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
    run_query(app_a, agent_a, "a2")  # nothing changed: its touch was not waited for
    app_b, agent_b = make_app(env)
    tracker(app_b).adopt(decode(redis_server.client(1).get(session_key(app_a))))
    for theirs, mine in (("b3", "a4"), ("b5", "a6")):  # after A's save, then after A's reload and save
        run_query(app_b, agent_b, theirs)
        run_query(app_a, agent_a, mine)
        sent = fake_api.message_requests()[-1]["messages"]
        texts = [b["text"] for m in sent if m["role"] == "user" for b in m["content"] if b["type"] == "text"]
        assert texts[-2:] == [theirs, mine]
    assert err(app_a).count("was updated by another agentwinter") == 2
    texts = [m["content"][0]["text"] for m in stored(redis_server, app_a)["messages"] if m["role"] == "user"]
    assert texts == ["a1", "a2", "b3", "a4", "b5", "a6"]
    assert fake_api.violations == []


def test_a_save_whose_answer_is_lost_is_not_applied_twice(env, fake_api, redis_server, monkeypatch):
    """Redis ran the save but the reply timed out: the retry sees its own write, not another writer's."""
    import redis
    from agentwinter_sessions import connection as own

    app, agent = make_app(env)
    run_query(app, agent, "one")
    real, lost = own._round_trip, []

    def reply_lost_once(connection, commands, take_unread):
        replies = real(connection, commands, take_unread)
        if not lost and any(b"append" in map(_as_bytes, command) for command in commands):
            lost.append(True)
            raise redis.TimeoutError("reply lost")
        return replies

    monkeypatch.setattr(own, "_round_trip", reply_lost_once)
    run_query(app, agent, "two")
    assert lost  # the lost reply happened
    document = stored(redis_server, app)
    texts = [m["content"][0]["text"] for m in document["messages"] if m["role"] == "user"]
    assert texts == ["one", "two"] and document["messages"] == tracker(app).kept.messages


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def test_thinking_and_tool_use_survive_save_and_load(env, fake_api, redis_server):
    fake_api.add(
        fake.with_thinking(fake.tool_use("read_file", {"path": "features.txt"}), "read the list"),
        fake.with_thinking(fake.text("three"), "count them"),
        fake.text("again"),
    )
    app, agent = make_app(env)
    run_query(app, agent, "count")
    other, other_agent = make_app(env)
    tracker(other).adopt(decode(redis_server.client(1).get(session_key(app))))
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


def test_incremental_saves_store_exactly_the_whole_document(env, redis_server):
    """Saves send only changed bytes; whatever the edit, Redis ends up holding the full, valid document."""
    app, _ = make_app(env)
    sessions = tracker(app)
    client = redis_server.client(1)
    writes = []
    record = sessions.encoder.saved
    sessions.encoder.saved = lambda write: (writes.append(write), record(write))

    def query(edit):
        app.conversation = Conversation()
        sessions.before_query()
        edit(app.conversation.messages)
        sessions.after_response(QueryResult("q", Usage(), 0.0))
        assert orjson.loads(client.get(session_key(app)))["messages"] == app.conversation.messages
        assert client.strlen(session_key(app)) == writes[-1].length
        return writes[-1]

    def turn(n: int, size: int):
        return [
            {"role": "user", "content": [{"type": "text", "text": f"question {n}"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "a" * size}]},
        ]

    def shrink(index: int, text: str):
        def edit(messages):
            messages[index] = {**messages[index], "content": [{"type": "text", "text": text}]}

        return edit

    assert not query(lambda m: m.extend(turn(0, 100))).incremental  # a new key: the whole value
    assert query(lambda m: m.extend(turn(1, 5000))).incremental  # an appended turn: only the tail
    assert query(shrink(3, "a" * 4990)).incremental  # 10 bytes shorter: padded, still a tail write
    assert not query(shrink(3, "short")).incremental  # much shorter: whole value again
    assert not query(shrink(1, "b" * 100)).incremental  # an edit in the first query: all of it again
    assert query(lambda m: m.extend(turn(2, 10))).incremental
    assert query(lambda m: None).incremental  # no change: just the header
    client.append(session_key(app), b"}" + b"junk" * 1000)  # a length we did not write: the store refuses the tail
    write = query(lambda m: m.extend(turn(3, 10)))
    assert write.incremental and orjson.loads(client.get(session_key(app)))["version"] == sessions.version
    client.delete(session_key(app))  # expired: the next save writes the whole value
    query(lambda m: m.extend(turn(4, 10)))
    assert decode(client.get(session_key(app)))["messages"] == app.conversation.messages
    assert client.keys("agentwinter:upload:*") == []  # upload keys are renamed, never left behind


def test_the_query_path_saves_only_the_new_bytes(env, fake_api, redis_server):
    """Through run_query (repair and all), a follow-up query sends Redis its own messages, not the session."""
    (env / "project" / "features.txt").write_text("a feature\n" * 2000)
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("3 features"), fake.text("still 3"))
    app, agent = make_app(env)
    sessions = tracker(app)
    writes = []
    record = sessions.encoder.saved
    sessions.encoder.saved = lambda write: (writes.append(write), record(write))
    run_query(app, agent, "how many features?")
    run_query(app, agent, "and now?")
    first, second = writes
    assert not first.incremental and second.incremental
    assert len(second.tail) < 2000 < first.length  # the new turn and the header, not the tool output again
    assert decode(redis_server.client(1).get(session_key(app)))["messages"] == app.conversation.messages


def test_redis_restored_from_an_older_snapshot_loses_no_turn(env, fake_api, redis_server):
    """Redis restarted from an RDB file taken two queries ago: this process's newer history wins."""
    app, agent = make_app(env)
    run_query(app, agent, "one")
    client = redis_server.client(1)
    key = session_key(app)
    old_value, old_version = client.get(key), client.hget("agentwinter:sessions:versions", tracker(app).id)
    run_query(app, agent, "two")
    run_query(app, agent, "three")
    client.set(key, old_value, ex=2700)  # what a restore from that snapshot puts back
    client.hset("agentwinter:sessions:versions", tracker(app).id, old_version)
    run_query(app, agent, "four")
    texts = [m["content"][0]["text"] for m in stored(redis_server, app)["messages"] if m["role"] == "user"]
    assert texts == ["one", "two", "three", "four"]
    assert [m["content"][0]["text"] for m in fake_api.message_requests()[-1]["messages"][::2]] == texts
