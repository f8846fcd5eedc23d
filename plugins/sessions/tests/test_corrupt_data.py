"""Bad values under every key the sessions plugin keeps, met by every action: one line, no traceback, the
bad value moved to a quarantine key (never deleted or overwritten), and the product goes on."""

from __future__ import annotations

import orjson
import pytest
from agentwinter_sessions import tracker
from agentwinter_sessions.redis_store import document_key

from agentwinter_core.query import run_command, run_query
from tests.helpers.app import err, make_app, out, project_env, user_texts
from tests.helpers.corrupt_data import (
    DERIVED,
    KINDS,
    damage,
    key_of,
    one_line_at_most,
    opened_in_another_terminal,
    sessions,
)


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.slow
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
        # search reads the archive: on for it alone, so the other actions start no archiver (~2 s of CPU each)
        monkeypatch.setenv("AGENTWINTER_ARCHIVE", "on" if args[0] == "search" else "off")
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
@pytest.mark.slow
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
