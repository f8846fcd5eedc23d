"""Session lifecycle with a real redis-server, the fake Messages API, real git and a real LanceDB archive:
names, resume, continue, fork, export/import, stale-context detection, archive → search → restore."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from agentwinter_sessions import tracker

from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_query
from agentwinter_core.state import UsageError
from tests.helpers import fake_api as fake
from tests.helpers.app import cli_here as cli
from tests.helpers.app import command, err, make_app, project_env
from tests.helpers.gitrepo import commit, init


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


# ---- names, resume, continue ----------------------------------------------------------------------------
def test_named_session_is_created_then_resumed_in_a_new_run(env, fake_api, redis_server):
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("3 features"), fake.text("3 still"))
    app, agent = make_app(env, session="checkout")
    run_query(app, agent, "how many features?")
    first_id = tracker(app).state.id
    assert f"🆕 New session: {first_id} (checkout)" in err(app)
    app.pm.hook.shutdown(app=app)

    redis_server.client(1).expire(f"agentwinter:session:{first_id}", 100)
    again, agent = make_app(env, session="checkout")
    assert redis_server.client(1).ttl(f"agentwinter:session:{first_id}") > 2600  # resuming slid the TTL
    assert tracker(again).state.id == first_id and f"↩️  Resuming session: {first_id} (4 messages)" in err(again)
    run_query(again, agent, "and now?")
    sent = fake_api.message_requests()[-1]["messages"]
    assert len(sent) == 5 and "export" in json.dumps(sent[2])  # the earlier tool result came along
    assert fake_api.violations == []
    assert err(again).count("Resuming session") == 1  # announced once, not again by the first query


def test_names_are_validated_and_unique(env, fake_api):
    app, agent = make_app(env)
    for bad, reason in [("x" * 65, "at most 64"), ("a\tb", "control characters"), ("session-1", "cannot start")]:
        assert reason in command(app, f"!name {bad}")
        with pytest.raises(UsageError, match=reason):
            make_app(env, session=bad)
    with pytest.raises(UsageError, match="cannot be empty"):
        make_app(env, session="  ")
    run_query(app, agent, "one")
    assert "now named **mine**" in command(app, "!name mine")
    assert "is named **mine**" in command(app, "!name")
    other, other_agent = make_app(env)
    run_query(other, other_agent, "two")
    assert f"belongs to session {tracker(app).state.id}" in command(other, "!name mine")


@pytest.mark.slow
def test_resume_by_prefix_continue_here_and_clear_errors(env, fake_api, tmp_path):
    app, agent = make_app(env)
    run_query(app, agent, "first")
    session_id = tracker(app).state.id
    resumed, _ = make_app(env, resume=session_id[: len("session-20261125-1")])
    assert tracker(resumed).state.id == session_id
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(UsageError, match=f"no session to continue in {elsewhere}"):
        make_app(elsewhere, cont=True)
    continued, agent = make_app(env, cont=True)
    assert tracker(continued).state.id == session_id
    with pytest.raises(UsageError, match="no session matches 'nope'"):
        make_app(env, resume="nope")
    second, agent2 = make_app(env)  # a second session: the prefix "session-" is ambiguous now
    run_query(second, agent2, "second")
    second_id = tracker(second).state.id
    with pytest.raises(UsageError, match="matches 2 sessions"):
        make_app(env, resume="session-")
    with pytest.raises(UsageError, match="not several"):
        make_app(env, resume=session_id, cont=True)
    assert "continues session" in command(second, f"!resume {session_id}") and tracker(second).state.id == session_id
    assert cli("sessions", "list", cwd=elsewhere).stdout.startswith(f"No active sessions in {elsewhere}")
    listed = json.loads(cli("sessions", "list", "--all", "--json", cwd=elsewhere).stdout)
    assert {row["id"]: row["cwd"] for row in listed} == {session_id: str(env), second_id: str(env)}
    table = cli("sessions", "list", "--all", cwd=elsewhere).stdout.splitlines()
    assert table[0].split()[:2] == ["directory", "id"] and all(line.startswith(str(env)) for line in table[1:])


@pytest.mark.slow
def test_a_cli_run_refuses_an_unknown_session_with_one_line(env, fake_api):
    done = cli("--resume", "nosuch", "-p", "hello", cwd=env)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == ["error: no session matches 'nosuch'"]
    assert fake_api.message_requests() == []


# ---- fork ---------------------------------------------------------------------------------------------
def test_fork_copies_and_can_cut_at_an_earlier_query(env, fake_api, redis_server):
    app, agent = make_app(env)
    for question in ("one", "two", "three"):
        run_query(app, agent, question)
    original = tracker(app).state.id
    stored_before = redis_server.client(1).get(f"agentwinter:session:{original}")
    assert "🍴 Forked" in command(app, "!fork 2")
    fork_id = tracker(app).state.id
    assert fork_id != original and len(tracker(app).state.messages) == 4
    run_query(app, agent, "four")
    assert [m["content"][0]["text"] for m in fake_api.message_requests()[-1]["messages"][::2]] == ["one", "two", "four"]
    assert redis_server.client(1).get(f"agentwinter:session:{original}") == stored_before  # untouched
    assert "this session has 3 queries: fork after 1 to 3" in command(app, "!fork 9")
    forked, _ = make_app(env, resume=original, fork=True)
    assert tracker(forked).state.id not in (original, fork_id) and len(tracker(forked).state.messages) == 6


# ---- export / import ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_export_import_round_trip_is_byte_identical_and_invalid_files_are_refused(env, fake_api, tmp_path):
    fake_api.add(fake.with_thinking(fake.tool_use("read_file", {"path": "features.txt"}), "read it"), fake.text("3"))
    app, agent = make_app(env, session="trip")
    run_query(app, agent, "how many?")
    first = tmp_path / "first.json"
    assert cli("sessions", "export", "trip", "-o", str(first), cwd=env).returncode == 0
    assert cli("sessions", "rm", "trip", cwd=env).returncode == 0
    imported = cli("sessions", "import", str(first), cwd=env)
    assert imported.returncode == 0 and "imported" in imported.stdout
    second = cli("sessions", "export", "trip", cwd=env)
    assert second.stdout.encode() == first.read_bytes()

    collision = cli("sessions", "import", str(first), cwd=env)
    assert "imported as a new session" in collision.stdout
    replaced = cli("sessions", "import", str(first), "--replace", cwd=env)
    assert replaced.returncode == 0 and tracker(app).state.id in replaced.stdout

    broken = json.loads(first.read_text())
    broken["messages"] = broken["messages"][:2]  # a tool_use without its tool_result
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    refused = cli("sessions", "import", str(bad), cwd=env)
    assert refused.returncode == 2 and refused.stderr.startswith("error: not a valid session history")
    bad.write_text(json.dumps({**json.loads(first.read_text()), "format": 99}))
    assert "newer than this agentwinter-sessions" in cli("sessions", "import", str(bad), cwd=env).stderr
    markdown = cli("sessions", "export", "trip", "--format", "markdown", cwd=env).stdout
    assert "## You\n\nhow many?" in markdown and "<details><summary>🔧 read_file" in markdown
    shown = cli("sessions", "show", tracker(app).state.id[:-3], cwd=env).stdout  # an id prefix works too
    assert shown.startswith(f"{tracker(app).state.id}  trip  4 messages") and re.search(r"expires in 4[45]m", shown)
    assert "## Claude\n\n3" in shown


# ---- stale context ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_after_a_commit_and_an_uncommitted_change_warns_and_tells_the_model(env, fake_api):
    repo = init(env)
    before = commit(repo, "start", **{"app.py": "A = 1\n"})
    fake_api.add(fake.tool_use("read_file", {"path": "app.py"}), fake.text("A is 1"), fake.text("rechecked"))
    app, agent = make_app(repo, session="stale")
    run_query(app, agent, "what is A?")
    app.pm.hook.shutdown(app=app)
    after = commit(repo, "change", **{"app.py": "A = 2\n"})
    (repo / "features.txt").write_text("search\n")  # uncommitted

    again, agent = make_app(repo, session="stale")
    assert f"warning: 2 files changed since this session (HEAD {before[:7]} → {after[:7]})" in err(again)
    run_query(again, agent, "and now?")
    last = fake_api.message_requests()[-1]["messages"][-1]["content"]
    assert [b["type"] for b in last] == ["text", "text"] and "app.py, features.txt" in last[0]["text"]
    assert last[1]["text"] == "and now?"
    assert fake_api.violations == []
    third, _ = make_app(repo, session="stale")
    assert "files changed" not in err(third)  # the last save recorded the new state


# ---- archive, search, restore ------------------------------------------------------------------------------
@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_short_ttl_session_is_archived_searchable_restored_and_resumed(env, fake_api, redis_server, monkeypatch):
    from agentwinter_sessions.archive import archived
    from agentwinter_sessions.redis_store import document_key, meta_key

    monkeypatch.setenv("AGENTWINTER_SESSION_TTL", "60")
    fake_api.add(fake.tool_use("read_file", {"path": "features.txt"}), fake.text("found them"))
    app, agent = make_app(env, session="doomed")
    run_query(app, agent, "list the zebra features")
    session_id = tracker(app).state.id
    tracker(app).archive.wait()  # the sweep started with the first query archived it (expires within 10 min)
    assert archived(Path(os.environ["AGENTWINTER_ARCHIVE_DIR"])) == {session_id: tracker(app).state.version}
    app.pm.hook.shutdown(app=app)
    tracker(app).archive.wait()
    client = redis_server.client(1)
    for key in (document_key(session_id), meta_key(session_id)):
        assert client.pexpireat(key, 1)  # as if its minute were over: Redis expires it as it would have
    assert not client.exists(f"agentwinter:session:{session_id}")  # expired

    found = cli("sessions", "search", "zebra", "--json", cwd=env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [(h["id"], h["name"], h["live"]) for h in hits] == [(session_id, "doomed", False)]
    assert cli("sessions", "search", "giraffe", cwd=env).stdout.startswith("No session mentions")
    monkeypatch.setenv("AGENTWINTER_SESSION_TTL", "600")
    restored = cli("sessions", "restore", "doomed", cwd=env)
    assert restored.returncode == 0 and f"restored {session_id}" in restored.stdout
    listed = json.loads(cli("sessions", "list", "--json", cwd=env).stdout)
    assert [(r["id"], r["archived"]) for r in listed] == [(session_id, True)]

    fake_api.add(fake.text("still zebras"))
    resumed = cli("--resume", session_id, "-p", "and now?", cwd=env)
    assert resumed.returncode == 0 and "still zebras" in resumed.stdout
    sent = fake_api.message_requests()[-1]["messages"]
    assert len(sent) == 5 and fake_api.violations == []


FIRST_QUERY = """
import io, json, sys
from pathlib import Path
from agentwinter_core.app import build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.state import Conversation
from agentwinter_core.ui import UI
from agentwinter_sessions import tracker

app = build_app(build_plugin_manager(), interactive=False, project_dir=Path.cwd())
app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
app.conversation = Conversation()
tracker(app).before_query()
tracker(app).archive.wait()
codes = [child.returncode for child in tracker(app).archive.children]
print(json.dumps({"archivers": codes, "imported": "lancedb" in sys.modules}))
"""


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_the_first_query_leaves_importing_lancedb_to_a_background_archiver(env):
    # import lancedb takes seconds: in the run it would delay the answer, or the exit, by that much
    done = subprocess.run([sys.executable, "-c", FIRST_QUERY], capture_output=True, text=True, cwd=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"archivers": [0], "imported": False}  # swept, by another process


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_an_expired_named_session_comes_back_from_the_archive_by_name(env, fake_api, redis_server):
    app, agent = make_app(env, session="back")
    run_query(app, agent, "remember the walrus")
    session_id = tracker(app).state.id
    app.pm.hook.shutdown(app=app)  # archives it on exit
    tracker(app).archive.wait()
    redis_server.client(1).delete(f"agentwinter:session:{session_id}")  # as if it expired
    again, _ = make_app(env, session="back")
    assert tracker(again).state.id == session_id and len(tracker(again).state.messages) == 2


def test_without_lancedb_archive_commands_say_how_to_install_it(env, monkeypatch):
    from typer.testing import CliRunner

    from agentwinter_core.cli import build_cli

    monkeypatch.setitem(sys.modules, "lancedb", None)
    pm = build_plugin_manager(disabled={"cleanup"})
    done = CliRunner().invoke(build_cli(pm), ["sessions", "search", "anything"])
    assert done.exit_code == 2
    assert 'session archive needs LanceDB: pip install "agentwinter-sessions[archive]"' in done.output
    app, agent = make_app(env)
    run_query(app, agent, "works without it")
    assert "| — |" in command(app, "!sessions")
    assert os.environ["AGENTWINTER_ARCHIVE_DIR"] and not Path(os.environ["AGENTWINTER_ARCHIVE_DIR"]).exists()


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_an_exit_right_after_a_query_starts_one_archiver_that_sweeps_and_archives(env, fake_api, monkeypatch):
    from agentwinter_sessions import archiving
    from agentwinter_sessions.archive import archived

    monkeypatch.setattr(archiving, "SWEEP_DELAY", 600.0)  # however slow this machine, the exit comes first
    app, agent = make_app(env)
    run_query(app, agent, "a quick question")
    keeper = tracker(app).archive
    assert keeper.sweeper is not None and keeper.sweeper.is_alive()  # the query's sweep: still waiting
    app.pm.hook.shutdown(app=app)  # its last sweep takes the waiting one's place
    keeper.wait()
    assert [child.returncode for child in keeper.children] == [0]  # one archiver (~2 s of CPU), not two
    assert archived(Path(os.environ["AGENTWINTER_ARCHIVE_DIR"])) == {tracker(app).state.id: 1}


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_new_archives_the_session_it_leaves(env, fake_api):
    from agentwinter_sessions.archive import Archive

    app, agent = make_app(env)
    run_query(app, agent, "something to keep")
    left = tracker(app).state.id
    assert "stays until it expires" in command(app, "!new")
    tracker(app).archive.wait()  # archived in the background: the prompt did not wait
    assert Archive(Path(os.environ["AGENTWINTER_ARCHIVE_DIR"])).versions()[left] == 1


@pytest.mark.slow
def test_redis_down_stops_a_resume_with_one_line_and_no_password(env, fake_api, monkeypatch):
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", "redis://:hunter2@127.0.0.1:1/1")
    done = cli("--resume", "anything", "-p", "hello", cwd=env)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: Redis at redis://:***@127.0.0.1:1/1 is unreachable (Error 111 connecting to 127.0.0.1:1. "
        "Connection refused.): cannot open a session"
    )
    listed = cli("sessions", "list", cwd=env)
    assert listed.returncode == 1 and "unreachable" in listed.stderr and "hunter2" not in listed.stderr
    assert fake_api.message_requests() == []


@pytest.mark.usefixtures("archive_on")
@pytest.mark.slow
def test_a_removed_session_stays_removed_unless_its_archived_copy_is_kept(env, fake_api, redis_server):
    for name in ("bye", "keep"):
        app, agent = make_app(env, session=name)
        run_query(app, agent, f"remember {name}")
        app.pm.hook.shutdown(app=app)  # archived on exit
        tracker(app).archive.wait()
    removed = cli("sessions", "rm", "bye", cwd=env)
    assert removed.returncode == 0 and removed.stdout.startswith("removed session-")
    assert "archived" not in removed.stdout
    again = cli("sessions", "rm", "bye", cwd=env)
    assert again.returncode == 2 and again.stderr == "error: no session matches 'bye'\n"  # said once, not twice
    resumed = cli("--resume", "bye", "-p", "hi", cwd=env)
    assert resumed.returncode == 2 and "no session matches 'bye'" in resumed.stderr  # not back from the archive
    kept = cli("sessions", "rm", "keep", "--keep-archive", cwd=env)
    assert "an archived copy stays" in kept.stdout
    assert cli("sessions", "restore", "keep", cwd=env).returncode == 0


@pytest.mark.slow
def test_the_archive_turned_off_archives_nothing_and_says_so_when_asked(env, fake_api, tmp_path, monkeypatch):
    archive_dir = Path(os.environ["AGENTWINTER_ARCHIVE_DIR"])
    (tmp_path / "config.toml").write_text('[sessions]\narchive = "false"\n')  # a string: refused, never coerced
    monkeypatch.delenv("AGENTWINTER_ARCHIVE")  # the archive extra is installed: on, unless the file says off
    app, _ = make_app(env)
    assert "[sessions] archive must be true or false (without quotes), not 'false'" in err(app)
    (tmp_path / "config.toml").write_text("[sessions]\narchive = false\n")
    app, agent = make_app(env, session="kept-here")
    run_query(app, agent, "remember the walrus")
    app.pm.hook.shutdown(app=app)  # would hand the session to an archiver
    assert not archive_dir.exists()
    searched = cli("sessions", "search", "walrus", cwd=env)
    assert searched.returncode == 2 and searched.stderr == (
        "error: the session archive is turned off ([sessions] archive = false, or AGENTWINTER_ARCHIVE=off)\n"
    )
    gone = cli("--resume", "no-such-session", "-p", "hi", cwd=env)
    assert gone.stderr == "error: no session matches 'no-such-session'\n"  # no hint to install what is installed
