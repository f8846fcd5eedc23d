"""Several terminals on one named session at once, started together: no query is lost, and a name belongs
to exactly one session (the short version of the stress runner's 8 x 50)."""

from __future__ import annotations

import json
import subprocess

import orjson
import pytest
from agentwinter_sessions.redis_store import name_field
from agentwinter_sessions.tracking import owner

from tests.helpers.app import AGENTWINTER, project_env, user_texts

TERMINALS, QUERIES = 4, 6


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


@pytest.mark.slow
def test_terminals_started_together_on_one_name_keep_every_query(env, fake_api, redis_server):
    lines = {t: [f"t{t} q{q}" for q in range(QUERIES)] for t in range(TERMINALS)}
    runs = [
        subprocess.Popen(
            [AGENTWINTER, "--session", "shared"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=env,
        )
        for _ in range(TERMINALS)
    ]
    outputs = [run.communicate("\n".join(lines[t]) + "\n", timeout=120) for t, run in enumerate(runs)]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    client = redis_server.client(1)
    named = client.hget("agentwinter:names", name_field(owner(), "shared")).decode()  # names are per owner
    listing = json.loads(
        subprocess.run([AGENTWINTER, "sessions", "list", "--json"], capture_output=True, text=True, cwd=env).stdout
    )
    kept: set[str] = set()
    for row in listing:
        texts = user_texts(orjson.loads(client.get(f"agentwinter:session:{row['id']}"))["messages"])
        assert len(texts) == len(set(texts)), row  # a fork starts as a copy: a query may be in two sessions, once each
        kept |= set(texts)
        if row["id"] != named:  # a fork: its terminal was told, and it has a name derived from the original
            assert row["name"].startswith("shared-"), row
            assert any(f"goes on as {row['id']}" in err for _, err in outputs), row
    assert kept == {line for t in lines for line in lines[t]}  # every query
    mine = user_texts(orjson.loads(client.get(f"agentwinter:session:{named}"))["messages"])
    for t in lines:  # each terminal's queries in its own order
        assert [text for text in mine if text.startswith(f"t{t} ")] == [x for x in lines[t] if x in mine]
    assert fake_api.violations == []


def test_a_terminal_that_keeps_losing_the_race_forks_under_a_derived_name(env, fake_api, redis_server, monkeypatch):
    from agentwinter_sessions import tracker
    from agentwinter_sessions.connect import target
    from agentwinter_sessions.redis_store import RedisStore

    from agentwinter_core.query import run_query
    from tests.helpers.app import err, make_app

    app, agent = make_app(env, session="busy")
    run_query(app, agent, "a1")
    original, store = tracker(app).state.id, tracker(app).store
    other = RedisStore(target(redis_server.url(), {}), 2700)
    real_save = store.save

    def another_terminal_saves_first(session_id, raw, version, expected, summary):
        if session_id == original:  # a real write by another client, just before each of ours
            stored, at = other.load(original)
            other.save(original, stored, at + 1, at, summary)
        return real_save(session_id, raw, version, expected, summary)

    monkeypatch.setattr(store, "save", another_terminal_saves_first)
    run_query(app, agent, "a2")
    fork = tracker(app).state.id
    assert fork != original and f"this conversation goes on as {fork} (busy-2)" in err(app)
    assert store.named("busy-2", owner()) == fork and store.named("busy", owner()) == original
    assert user_texts(orjson.loads(redis_server.client(1).get(f"agentwinter:session:{fork}"))["messages"]) == [
        "a1",
        "a2",
    ]
