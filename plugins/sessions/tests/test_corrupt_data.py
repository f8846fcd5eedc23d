"""Bad values under every key the sessions plugin keeps, met by every action: one line, no traceback, the
bad value moved to a quarantine key (never deleted or overwritten), and the product goes on."""

from __future__ import annotations

import orjson
import pytest
from agentwinter_sessions import cli as sessions_cli
from agentwinter_sessions import switching, tracker
from agentwinter_sessions.redis_store import INDEX, NAMES, directory_key, document_key, meta_key
from typer.testing import CliRunner

from agentwinter_core.cli import build_cli
from agentwinter_core.query import run_command, run_query
from agentwinter_core.state import UsageError
from tests.helpers.app import err, make_app, out, project_env, user_texts


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


# name -> (key family, how to damage it). Families: doc, meta, index, dir, names.
KINDS = {
    "not JSON": ("doc", {"set": b"{not json"}),
    "truncated": ("doc", "truncate"),
    "a JSON list": ("doc", {"set": b"[1, 2]"}),
    "a JSON number": ("doc", {"set": b"42"}),
    "a newer format": ("doc", {"set": b'{"format": 99, "id": "x", "messages": []}'}),
    "no format": ("doc", {"set": b'{"id": "x", "messages": []}'}),
    "messages not a list": ("doc", {"set": b'{"format": 1, "id": "x", "messages": 5}'}),
    "messages of numbers": ("doc", {"set": b'{"format": 1, "id": "x", "messages": [1, 2]}'}),
    "no id": ("doc", {"set": b'{"format": 1, "messages": []}'}),
    "binary garbage": ("doc", {"set": b"\xff\xfe\x00garbage\x80"}),
    "a hash for the document": ("doc", {"hset": {"a": "b"}}),
    "a list for the document": ("doc", {"rpush": ["a", "b"]}),
    "a string for the meta": ("meta", {"set": b"meta"}),
    "a version that is no number": ("meta", {"hset": {"version": "abc"}}),
    "a summary that is no JSON": ("meta", {"hset": {"summary": "{nope"}}),
    "a string for the index": ("index", {"set": b"index"}),
    "a hash for the directory index": ("dir", {"hset": {"a": "b"}}),
    "a list for the names": ("names", {"rpush": ["a"]}),
    "junk ids in the index": ("index", {"zadd": {"not-a-session": 1e12, "../x": 1e12}}),
}
DERIVED = ("a summary that is no JSON", "junk ids in the index")  # rewritten by the next save, pruned when met


def key_of(family: str, session_id: str, cwd: str) -> str:
    return {
        "doc": document_key(session_id),
        "meta": meta_key(session_id),
        "index": INDEX,
        "dir": directory_key(cwd),
        "names": NAMES,
    }[family]


def damage(client, key: str, how) -> None:
    if how == "truncate":
        raw = client.get(key)
        client.set(key, raw[: len(raw) // 2], keepttl=True)
        return
    ((verb, value),) = how.items()
    if verb == "hset" and client.type(key) == b"hash":
        client.hset(key, mapping=value)
        return
    client.delete(key)
    {
        "set": lambda: client.set(key, value),
        "hset": lambda: client.hset(key, mapping=value),
        "rpush": lambda: client.rpush(key, *value),
        "zadd": lambda: client.zadd(key, value),
    }[verb]()


def sessions(*args: str):
    """``agentwinter sessions ARGS`` in this process."""
    from agentwinter_core.host import build_plugin_manager

    sessions_cli.settings.cache_clear()  # another test's settings (another Redis) may be cached
    sessions_cli.OPENED.clear()
    return CliRunner().invoke(build_cli(build_plugin_manager(disabled={"cleanup"})), ["sessions", *args])


def one_line_at_most(text: str) -> None:
    assert "Traceback" not in text and "failed in" not in text, text
    assert sum(line.startswith("error:") for line in text.splitlines()) <= 1, text


def opened_in_another_terminal(env, **options):
    """A second terminal started with these options: the line it stopped with ('' for none), and its app."""
    other, _ = make_app(env)
    try:
        switching.start(tracker(other), options)
        tracker(other).tell_notices()
    except UsageError as exc:
        return str(exc), other
    return "", other


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_action_meets_a_bad_value_with_one_line(env, fake_api, redis_server, kind, monkeypatch):
    monkeypatch.chdir(env)
    family, how = KINDS[kind]
    app, agent = make_app(env, session="kept")
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    client = redis_server.client(1)
    key = key_of(family, session_id, str(env))
    damage(client, key, how)
    bad = client.dump(key)

    run_query(app, agent, "q2")  # the running process meets it between two queries
    run_command(app, "!sessions")
    assert user_texts(orjson.loads(client.get(document_key(session_id)))["messages"]) == ["q1", "q2"]
    one_line_at_most(err(app) + out(app))
    said = err(app)
    for args in (("list",), ("list", "--all"), ("show", session_id), ("export", session_id), ("search", "q1")):
        result = sessions(*args)
        assert result.exit_code == 0, (args, result.output)
        one_line_at_most(result.output)
        said += result.output
    for options in ({"resume": session_id}, {"session": "kept"}, {"cont": True}):
        line, other = opened_in_another_terminal(env, **options)
        assert "\n" not in line
        said += err(other)
    kept = [found for found in client.keys("agentwinter:quarantine:*") if client.dump(found) == bad]
    if kind in DERIVED:
        assert not kept  # derived data the next save rewrites, and entries pruned as met
    else:
        assert len(kept) == 1 and client.ttl(kept[0]) > 0  # set aside as it was, never deleted or overwritten
        assert kept[0].decode() in said  # and said where, by whichever action met it
    assert sessions("rm", session_id).exit_code == 0


@pytest.mark.parametrize("kind", ["a hash for the document", "not JSON", "a version that is no number"])
def test_the_command_line_is_the_first_to_meet_a_bad_value(env, fake_api, redis_server, kind, monkeypatch):
    monkeypatch.chdir(env)
    family, how = KINDS[kind]
    app, agent = make_app(env)
    run_query(app, agent, "q1")
    session_id = tracker(app).state.id
    damage(redis_server.client(1), key_of(family, session_id, str(env)), how)
    shown = sessions("show", session_id)
    one_line_at_most(shown.output)
    if family == "doc":
        assert shown.exit_code == 2 and f"session {session_id} could not be used" in shown.output
        assert "kept as agentwinter:quarantine:" in shown.output
    else:
        assert shown.exit_code == 0 and "not a number: kept as agentwinter:quarantine:" in shown.output
    line, _ = opened_in_another_terminal(env, resume=session_id)
    assert "\n" not in line
