"""Two OS users on one real redis-server: each acts on their own sessions only unless --all-users, names are
per owner, and the documented lock-down (an ACL user per person limited to a key prefix) keeps them apart.

A second user is simulated the way getpass itself tells users apart: LOGNAME (read before USER)."""

from __future__ import annotations

import fnmatch
import json
import os
import socket

import orjson
import pytest
import redis
from agentwinter_sessions import tracker
from agentwinter_sessions.connect import target
from agentwinter_sessions.redis_store import RedisStore, document_key, meta_key, name_field, quarantine_key
from agentwinter_sessions.store import Summary
from tests.test_deployments import documented_acl_rules

from agentwinter_core.query import run_query
from tests.helpers import fake_api as fake
from tests.helpers.app import cli_here as cli
from tests.helpers.app import command, err, make_app, project_env, user_texts
from tests.helpers.topologies import acl_user

HOST = socket.gethostname()
ALICE, BOB = f"alice@{HOST}", f"bob@{HOST}"


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def as_user(monkeypatch, name: str) -> None:
    """Run as OS user ``name`` from here on: getpass.getuser() reads LOGNAME first (this process and the CLI).
    Each has their own archive, as in their own home directory."""
    monkeypatch.setenv("LOGNAME", name)
    monkeypatch.setenv("USER", name)
    monkeypatch.setenv("AGENTWINTER_ARCHIVE_DIR", f"{os.environ['AGENTWINTER_ARCHIVE_DIR'].rsplit('@', 1)[0]}@{name}")


def one_line_error(done, *parts: str) -> None:
    assert done.returncode != 0 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and all(part in done.stderr for part in parts), done.stderr


def bobs_session(env, fake_api, monkeypatch) -> str:
    as_user(monkeypatch, "bob")
    app, agent = make_app(env, session="demo")
    fake_api.add(fake.text("the plan is ready"))
    run_query(app, agent, "bob's secret plan")
    app.pm.hook.shutdown(app=app)
    return tracker(app).state.id


@pytest.mark.slow
def test_each_user_lists_shows_exports_and_resumes_only_their_own_sessions(env, fake_api, redis_server, monkeypatch):
    bob = bobs_session(env, fake_api, monkeypatch)
    as_user(monkeypatch, "alice")
    app, agent = make_app(env, session="demo")  # names are per owner: bob's "demo" is not hers
    alice = tracker(app).state.id
    assert alice != bob and tracker(app).state.owner == ALICE
    run_query(app, agent, "alice's question")
    names = redis_server.client(1).hgetall("agentwinter:names")
    assert names[name_field(ALICE, "demo").encode()] == alice.encode()
    assert names[name_field(BOB, "demo").encode()] == bob.encode()
    stored = {i: orjson.loads(redis_server.client(1).get(document_key(i))) for i in (alice, bob)}
    assert (stored[alice]["owner"], stored[bob]["owner"]) == (ALICE, BOB)  # user@host, in every document

    listed = cli("sessions", "list", "--json", cwd=env)
    assert [row["id"] for row in json.loads(listed.stdout)] == [alice], listed.stderr
    for args in (("sessions", "list"), ("sessions", "list", "--all")):
        done = cli(*args, cwd=env)
        assert alice in done.stdout and bob not in done.stdout, done.stdout
    assert alice in command(app, "!sessions") and bob not in command(app, "!sessions")
    for args in (("sessions", "show", bob), ("sessions", "export", bob), ("sessions", "export", bob, "-f", "markdown")):
        done = cli(*args, cwd=env)
        one_line_error(done, f"session {bob} belongs to {BOB}, another user: add --all-users")
        assert "secret" not in done.stdout
    resumed = cli("--resume", bob, "-p", "hi", cwd=env)
    one_line_error(resumed, f"session {bob} belongs to {BOB}, another user: add --all-users to go on in a copy")
    one_line_error(cli("--resume", bob[:-1], "-p", "hi", cwd=env), f"no session matches '{bob[:-1]}'")  # a prefix
    assert "belongs to" in command(app, f"!resume {bob}") and tracker(app).state.id == alice
    one_line_error(cli("sessions", "rm", bob, cwd=env), f"session {bob} belongs to {BOB}, another user: not removed")
    named = cli("--session", "demo", "-p", "and now?", cwd=env)
    assert f"Resuming session: {alice}" in named.stderr and bob not in named.stderr + named.stdout, named.stderr

    everyone = json.loads(cli("sessions", "list", "--all-users", "--json", cwd=env).stdout)
    assert {row["id"]: row["owner"] for row in everyone} == {alice: ALICE, bob: BOB}
    table = cli("sessions", "list", "--all", "--all-users", cwd=env).stdout.splitlines()
    assert table[0].split()[:2] == ["owner", "directory"]
    assert any(line.startswith(BOB) and bob in line for line in table[1:]), table
    assert BOB in command(app, "!sessions --all-users") and bob in command(app, "!sessions --all-users")
    shown = cli("sessions", "show", bob, "--all-users", cwd=env)
    assert shown.returncode == 0 and f"of {BOB}" in shown.stdout and "bob's secret plan" in shown.stdout
    exported = cli("sessions", "export", bob, "--all-users", cwd=env)
    assert user_texts(json.loads(exported.stdout)["messages"]) == ["bob's secret plan"]

    copy = cli("--resume", bob, "--all-users", "-p", "my follow-up", cwd=env)  # a copy of her own, never his
    assert copy.returncode == 0 and f"Forked `{bob}`" in copy.stderr, copy.stderr
    assert user_texts(orjson.loads(redis_server.client(1).get(document_key(bob)))["messages"]) == ["bob's secret plan"]
    mine = json.loads(cli("sessions", "list", "--json", cwd=env).stdout)
    forked = next(row for row in mine if row["id"] not in (alice, bob))
    assert forked["owner"] == ALICE and forked["messages"] == 4
    assert err(app).count("Traceback") == 0 and fake_api.violations == []


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_search_finds_only_your_own_sessions_unless_all_users(env, fake_api, redis_server, monkeypatch):
    bob = bobs_session(env, fake_api, monkeypatch)
    as_user(monkeypatch, "alice")
    app, agent = make_app(env)
    fake_api.add(fake.text("noted"))
    run_query(app, agent, "alice's plan too")
    alice = tracker(app).state.id
    found = json.loads(cli("sessions", "search", "plan", "--json", cwd=env).stdout)
    assert [hit["id"] for hit in found] == [alice]
    everyone = json.loads(cli("sessions", "search", "plan", "--json", "--all-users", cwd=env).stdout)
    assert {hit["id"]: hit["owner"] for hit in everyone} == {alice: ALICE, bob: BOB}
    again = json.loads(cli("sessions", "search", "secret", "--json", cwd=env).stdout)  # now in her archive
    assert again == []  # ...and still not hers
    one_line_error(cli("sessions", "restore", bob, cwd=env), f"'{bob}' matches 0 archived sessions")
    restored = cli("sessions", "restore", bob, "--all-users", cwd=env)
    assert restored.returncode == 0 and restored.stdout.startswith(f"restored {bob}")


@pytest.mark.slow
def test_a_session_saved_before_owners_counts_as_yours_and_becomes_yours_when_saved(env, redis_server, monkeypatch):
    as_user(monkeypatch, "alice")
    store = RedisStore(target(redis_server.url(), {}), 2700)
    raw = orjson.dumps({"format": 1, "id": "session-old", "name": "old", "cwd": str(env), "messages": []})
    store.save("session-old", raw, 1, None, Summary(name="old", cwd=str(env)))  # as an older version wrote it
    store.claim_name("session-old", "old", "")  # a bare name field, as before owners
    assert "session-old" in cli("sessions", "list", cwd=env).stdout
    app, agent = make_app(env, session="old")
    assert tracker(app).state.id == "session-old"
    run_query(app, agent, "hello again")
    assert orjson.loads(redis_server.client(1).get(document_key("session-old")))["owner"] == ALICE
    as_user(monkeypatch, "bob")
    one_line_error(cli("sessions", "show", "session-old", cwd=env), f"belongs to {ALICE}, another user")


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_an_acl_user_per_person_limited_to_a_key_prefix_cannot_read_anothers_sessions(
    env, fake_api, redis_server, monkeypatch, tmp_path
):
    admin = redis_server.client(1)
    configs = {}
    for person in ("alice", "bob"):  # exactly what the README says to type, for each person
        rules = [f"~agentwinter:{person}:*" if r == "~agentwinter:*" else r for r in documented_acl_rules()]
        acl_user(admin, person, "unused", [r if r != ">PASSWORD" else f">{person}-pw" for r in rules])
        configs[person] = tmp_path / f"{person}.toml"
        configs[person].write_text(f'[sessions]\nkey_prefix = "agentwinter:{person}"\n')

    def login(person: str, prefix_of: str | None = None) -> None:
        as_user(monkeypatch, person)
        url = f"redis://{person}:{person}-pw@127.0.0.1:{redis_server.port}/1"
        monkeypatch.setenv("AGENTWINTER_REDIS_URL", url)
        monkeypatch.setenv("AGENTWINTER_CONFIG", str(configs[prefix_of or person]))

    login("bob")
    app, agent = make_app(env, session="demo")
    run_query(app, agent, "bob's secret plan")
    bob = tracker(app).state.id
    assert "denied" not in err(app) and "not saved" not in err(app), err(app)
    keys = [key.decode() for key in admin.keys("*")]
    assert keys and all(fnmatch.fnmatchcase(key, "agentwinter:bob:*") for key in keys), keys  # ~agentwinter:* too

    login("alice")
    as_alice = redis.Redis(port=redis_server.port, db=1, username="alice", password="alice-pw")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_alice.get(f"agentwinter:bob:session:{bob}")
    for args in (("sessions", "list", "--all", "--all-users", "--json"), ("sessions", "search", "secret", "--json")):
        done = cli(*args, cwd=env)
        assert done.returncode == 0 and json.loads(done.stdout) == [], (args, done.stderr)
    one_line_error(cli("--resume", bob, "--all-users", "-p", "hi", cwd=env), f"no session matches '{bob}'")
    login("alice", prefix_of="bob")  # alice points her prefix at bob's keys: Redis refuses, in one line
    denied = cli("sessions", "list", cwd=env)
    one_line_error(denied, "denied a key by ACL (this user has no permissions", "must cover [sessions] key_prefix")
    assert denied.returncode == 1 and "alice-pw" not in denied.stderr


def test_a_key_prefix_keeps_each_sessions_keys_in_one_cluster_slot_and_a_bad_one_is_one_line(env, tmp_path):
    from redis.crc import key_slot

    document = document_key("session-1", "agentwinter:alice")
    tagged = [meta_key("session-1", "agentwinter:alice"), quarantine_key(document, "session", "agentwinter:alice")]
    assert all(key.startswith("agentwinter:alice:") for key in tagged)
    assert {key_slot(key.encode()) for key in tagged} == {key_slot(document.encode())}
    for bad in ("agentwinter:{alice}", "agentwinter:*", "a b", "agentwinter:", ""):
        (tmp_path / "config.toml").write_text(f"[sessions]\nkey_prefix = {json.dumps(bad)}\n")
        one_line_error(cli("sessions", "list", cwd=env), f"key_prefix {bad!r} is not a key prefix")


def test_the_store_lists_names_and_resolves_per_owner_with_exact_counts(redis_server):
    store = RedisStore(target(redis_server.url(), {}), 2700)
    owners = {f"session-{who}-{i}": who for who in ("a@h", "b@h") for i in range(3)} | {"session-old-0": ""}
    for number, (session_id, who) in enumerate(owners.items()):
        summary = Summary(cwd="/p", owner=who, updated=float(number))
        store.save(session_id, orjson.dumps({"id": session_id}), 1, None, summary)
    page = store.listing(None, 2, owner="a@h")  # a's own index: O(a's sessions)
    assert [row.summary.owner for row in page.rows] == ["a@h", "a@h"] and page.more == 1
    here = store.listing("/p", 3, owner="a@h")  # a's and the unowned one, of this directory's index
    assert {row.id for row in here.rows} <= {i for i, who in owners.items() if who in ("a@h", "")}
    assert len(here.rows) == 3 and here.more == 1
    assert len(store.listing("/p", 10).rows) == 7  # everyone's
    for who in ("a@h", "b@h"):  # each can have "demo"
        assert store.claim_name(f"session-{who}-0", "demo", "", who) is None
        assert store.named("demo", who) == f"session-{who}-0"
    assert store.claim_name("session-a@h-1", "demo", "", "a@h") == "session-a@h-0"  # taken among a's own names
    assert store.resolve("session-b", "a@h", everyone=False) == [] and len(store.resolve("session-b")) == 3
    assert store.resolve("session-b@h-2", "a@h", everyone=False) == ["session-b@h-2"]  # an exact id: caller checks
    assert store.delete("session-a@h-0") and store.named("demo", "a@h") is None
    assert store.named("demo", "b@h") == "session-b@h-0"
    assert [row.id for row in store.listing(None, 10, owner="a@h").rows] == ["session-a@h-2", "session-a@h-1"]
