"""Client-side encryption of stored sessions, with a real redis-server: what Redis holds is ciphertext (the
metadata stays readable), the right key resumes, a wrong or missing key is one line and leaves the data as
it was, a key file open to others is refused."""

from __future__ import annotations

import base64
import os
import subprocess

import orjson
import pytest
from agentwinter_sessions import sealing, tracker
from agentwinter_sessions.connect import ConfigError, target
from agentwinter_sessions.redis_store import RedisStore, document_key, meta_key
from agentwinter_sessions.store import Summary

from agentwinter_core.query import run_query
from tests.helpers import fake_api as fake
from tests.helpers.app import AGENTWINTER, err, make_app, project_env, user_texts
from tests.helpers.corrupt_data import one_line_at_most, opened_in_another_terminal, sessions

PLANTED_QUESTION = "PLANTED-question-7f3a which features?"
PLANTED_ANSWER = "PLANTED-answer-91c2 three features"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    project = project_env(fake_api, redis_server, tmp_path, monkeypatch)
    monkeypatch.chdir(project)
    return project


def sealed_session(env, fake_api, monkeypatch, key: str, name: str = "secret-work") -> str:
    """A named session of two queries, saved under ``key``; its id."""
    monkeypatch.setenv(sealing.KEY_ENV, key)
    fake_api.add(fake.text(PLANTED_ANSWER), fake.text("second answer"))
    app, agent = make_app(env, session=name)
    run_query(app, agent, PLANTED_QUESTION)
    run_query(app, agent, "second question")  # its touch compares lengths: no outside write is seen
    assert "changed outside agentwinter" not in err(app) and "could not be used" not in err(app)
    return tracker(app).state.id


def test_redis_holds_ciphertext_and_readable_metadata(env, fake_api, redis_server, monkeypatch):
    key = new_key()
    session_id = sealed_session(env, fake_api, monkeypatch, key)
    client = redis_server.client(1)
    raw = client.get(document_key(session_id))
    assert raw.startswith(sealing.MAGIC)
    line, _, sealed = raw.partition(b"\n")
    shown = orjson.loads(line)  # what redis-cli GET shows first: the metadata in clear, the messages only sealed
    assert len(sealed) > 12 + 16 and b"question" not in sealed  # a nonce, the ciphertext and its tag
    assert "messages" not in shown and shown["id"] == session_id and shown["name"] == "secret-work"
    assert shown["message_count"] == 4 and shown["owner"] and shown["cwd"] == str(env)
    for planted in (PLANTED_QUESTION, PLANTED_ANSWER, "PLANTED", "second question"):
        assert planted.encode() not in raw
    meta = client.hgetall(meta_key(session_id))
    summary = orjson.loads(meta[b"summary"])
    assert meta[b"version"] == b"3" and summary["name"] == "secret-work" and summary["messages"] == 4
    assert b"PLANTED" not in b"".join(meta.values())  # the first query is message text: left out
    listed = orjson.loads(sessions("list", "--json").stdout)
    assert [row["id"] for row in listed] == [session_id]

    exported = sessions("export", session_id)  # export decrypts
    assert exported.exit_code == 0, exported.output
    assert user_texts(orjson.loads(exported.stdout)["messages"]) == [PLANTED_QUESTION, "second question"]

    fake_api.add(fake.text("third answer"))
    app, agent = make_app(env, resume=session_id)
    run_query(app, agent, "third question")
    assert user_texts(fake_api.message_requests()[-1]["messages"]) == [
        PLANTED_QUESTION,
        "second question",
        "third question",
    ]
    assert not client.keys("agentwinter:quarantine:*")


def test_a_wrong_or_missing_key_is_one_line_and_the_data_stays(env, fake_api, redis_server, monkeypatch):
    key = new_key()
    session_id = sealed_session(env, fake_api, monkeypatch, key)
    client = redis_server.client(1)
    before = client.dump(document_key(session_id)), client.hgetall(meta_key(session_id))

    for other, expected in ((new_key(), "encrypted with another key"), ("", "is encrypted (key ")):
        monkeypatch.setenv(sealing.KEY_ENV, other)
        for options in ({"resume": session_id}, {"session": "secret-work"}, {"cont": True}):
            line, app = opened_in_another_terminal(env, **options)
            assert expected in line and "\n" not in line, (options, line)
            assert key not in line and (not other or other not in line)
        for args in (("show", session_id), ("export", session_id)):
            done = sessions(*args)
            assert done.exit_code == 1 and expected in done.output, done.output
            one_line_at_most(done.output)
    assert (client.dump(document_key(session_id)), client.hgetall(meta_key(session_id))) == before
    assert not client.keys("agentwinter:quarantine:*")  # a wrong key is not corrupt data

    monkeypatch.setenv(sealing.KEY_ENV, key)  # the right key again: everything is there
    fake_api.add(fake.text("back"))
    app, agent = make_app(env, session="secret-work")
    run_query(app, agent, "with the right key")
    texts = user_texts(fake_api.message_requests()[-1]["messages"])
    assert texts == [PLANTED_QUESTION, "second question", "with the right key"]


def test_a_running_process_never_saves_over_a_value_sealed_with_another_key(env, fake_api, redis_server, monkeypatch):
    key = new_key()
    monkeypatch.setenv(sealing.KEY_ENV, key)
    fake_api.add(fake.text("one"), fake.text("two"))
    app, agent = make_app(env)
    run_query(app, agent, "first")
    session_id = tracker(app).state.id
    mine = RedisStore(target(redis_server.url(), {}), 600, seal=tracker(app).settings.seal)
    theirs = RedisStore(target(redis_server.url(), {}), 600, seal=sealing.Seal(os.urandom(32), "another terminal"))
    raw, version = mine.load(session_id)
    assert theirs.save(session_id, raw, version + 1, version, Summary(messages=2))  # another key's save
    stored = redis_server.client(1).dump(document_key(session_id))

    run_query(app, agent, "second")
    moved = tracker(app).state.id
    warnings = [line for line in err(app).splitlines() if "encrypted with another key" in line]
    assert len(warnings) == 1 and f"goes on as {moved}" in warnings[0] and moved != session_id
    assert redis_server.client(1).dump(document_key(session_id)) == stored
    assert user_texts(orjson.loads(mine.load(moved)[0])["messages"]) == ["first", "second"]


def test_a_session_saved_before_the_key_is_read_and_sealed_by_its_next_save(env, fake_api, redis_server, monkeypatch):
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    fake_api.add(fake.text("plain"), fake.error(400, "invalid_request_error"), fake.text("sealed now"))
    app, agent = make_app(env)
    run_query(app, agent, "before the key")
    session_id = tracker(app).state.id
    client = redis_server.client(1)
    assert orjson.loads(client.get(document_key(session_id)))["id"] == session_id

    monkeypatch.setenv(sealing.KEY_ENV, new_key())
    app, agent = make_app(env, resume=session_id)
    run_query(app, agent, "fails: nothing saved")
    run_query(app, agent, "after the key")  # its touch sees the plain value at its own length
    assert "changed outside agentwinter" not in err(app)
    assert client.get(document_key(session_id)).startswith(sealing.MAGIC)
    stored = orjson.loads(tracker(app).store.load(session_id)[0])
    assert user_texts(stored["messages"]) == ["before the key", "after the key"]


@pytest.mark.parametrize("where", ["the ciphertext's tag", "the readable line"])
def test_a_damaged_ciphertext_is_corrupt_data_set_aside(env, fake_api, redis_server, monkeypatch, where):
    session_id = sealed_session(env, fake_api, monkeypatch, new_key())
    client = redis_server.client(1)
    raw = bytearray(client.get(document_key(session_id)))
    if where == "the readable line":  # authenticated with the ciphertext: a renamed session does not open
        raw = bytearray(bytes(raw).replace(b'"secret-work"', b'"secret-worm"', 1))
    else:
        raw[-1] ^= 1
    client.set(document_key(session_id), bytes(raw), keepttl=True)
    line, _ = opened_in_another_terminal(env, resume=session_id)
    assert "damaged" in line and "kept as agentwinter:quarantine:" in line
    assert [client.get(found) for found in client.keys("agentwinter:quarantine:*")] == [bytes(raw)]


def test_a_key_file_open_to_others_or_a_bad_key_is_refused_in_one_line(env, fake_api, tmp_path, monkeypatch):
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    path = sealing.key_path()
    assert path.parent == tmp_path  # beside the config file ($AGENTWINTER_CONFIG here)
    key = new_key()
    path.write_text(key + "\n")
    path.chmod(0o640)
    with pytest.raises(ConfigError, match=r"open to others \(mode 0640\).*chmod 600"):
        sealing.load()
    done = subprocess.run([AGENTWINTER, "-p", "hi"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "chmod 600" in done.stderr
    path.chmod(0o600)
    assert sealing.load().source == f"key file {path}"

    monkeypatch.setenv(sealing.KEY_ENV, "not-a-key-at-all")
    with pytest.raises(ConfigError, match="is not a session key") as refused:
        sealing.load()
    assert "not-a-key-at-all" not in str(refused.value)
