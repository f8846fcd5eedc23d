"""The archive's part in a run, with a real LanceDB and real background archiver processes: the sweep's
schedule (an injected clock), and the run itself never importing LanceDB (exit, listings, ``!new``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lancedb")

from agentwinter_sessions import archiver, archiving, tracker
from agentwinter_sessions.archive import Archive, archived
from agentwinter_sessions.archiving import ArchiveKeeper
from agentwinter_sessions.connect import target
from agentwinter_sessions.redis_store import RedisStore
from agentwinter_sessions.settings import Settings
from tests.test_archive import document

from agentwinter_core.query import run_query
from tests.helpers import archivers
from tests.helpers.app import AGENTWINTER, make_app, project_env

pytestmark = pytest.mark.usefixtures("archive_on")  # these tests are about the archive, or search it

HEAVY = re.compile(r"^import time:.*\|\s*(lancedb|pyarrow)(\.|$)", re.MULTILINE)  # -X importtime lines


@pytest.mark.slow
def test_the_first_query_sweeps_whatever_the_clock_says_then_every_sweep_seconds(redis_server, tmp_path):
    settings = Settings(target=target(redis_server.url(), {}), archive_dir=tmp_path / "archive", sweep_seconds=300)
    store = RedisStore(settings.target, 60)
    now = [0.0]  # monotonic time on a machine that has just booted
    problems: list[str] = []
    keeper = ArchiveKeeper(settings, lambda: store, problems.append, clock=lambda: now[0])
    keeper.sweep_if_due()
    first = keeper.sweeper
    assert first is not None
    first.join(10)
    now[0] = 299.0
    keeper.sweep_if_due()
    assert keeper.sweeper is first  # not due yet
    now[0] = 300.0
    keeper.sweep_if_due()
    assert keeper.sweeper is not first
    keeper.wait()
    assert len(keeper.children) == 2 and [child.returncode for child in keeper.children] == [0, 0]
    assert problems == []


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch) -> Path:
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """agentwinter, reporting every module it imports on stderr (-X importtime)."""
    return subprocess.run(
        [AGENTWINTER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
    )


def archive_dir() -> Path:
    return Path(os.environ["AGENTWINTER_ARCHIVE_DIR"])


@pytest.mark.slow
def test_exit_listings_and_new_leave_lancedb_to_background_archivers(env, fake_api):
    piped = run(stdin="remember the walrus\n!sessions\n!new\nand the otter\n", cwd=env)  # exit: end of input
    assert piped.returncode == 0, piped.stderr
    assert HEAVY.findall(piped.stderr) == []
    assert "| not yet |" in piped.stdout  # !sessions: the first session is not archived while it is current
    printed = run("-p", "and the seal", cwd=env)
    assert printed.returncode == 0 and HEAVY.findall(printed.stderr) == []
    archivers.wait_all(archive_dir())  # the archivers !new and the exits started: until they exit
    ids = [row["id"] for row in json.loads(run("sessions", "list", "--json", cwd=env).stdout)]
    assert len(ids) == 3
    assert set(Archive(archive_dir()).versions()) == set(ids)  # all three are in the archive
    listed = run("sessions", "list", "--json", cwd=env)
    assert HEAVY.findall(listed.stderr) == [] and [row["archived"] for row in json.loads(listed.stdout)] == [True] * 3
    assert list(archiver.pending_dir(archive_dir()).iterdir()) == []  # every handed-over file archived, no pid file


@pytest.mark.slow
def test_a_failed_archiver_keeps_the_session_for_the_next_run_which_says_so_once(env, fake_api):
    archive_dir().mkdir(parents=True)
    (archive_dir() / "sessions.lance").write_text("not a table")  # LanceDB can neither open nor create its table
    first = run("-p", "keep the otter", cwd=env)
    assert first.returncode == 0, first.stderr
    archivers.wait_all(archive_dir())
    assert len(list(archiver.pending_dir(archive_dir()).glob("*.json"))) == 1  # kept
    (archive_dir() / "sessions.lance").unlink()
    second = run("-p", "and now?", cwd=env)
    said = [line for line in second.stderr.splitlines() if "archiving failed" in line]
    assert len(said) == 1 and said[0].startswith("warning: background archiving failed (RuntimeError: lance"), said
    assert said[0].endswith(f"1 sessions wait in {archiver.pending_dir(archive_dir())} for the next run")
    archivers.wait_all(archive_dir())
    assert len(Archive(archive_dir()).versions()) == 2  # the one that waited and the new one
    assert list(archiver.pending_dir(archive_dir()).iterdir()) == []
    assert "archiving failed" not in run("-p", "once more", cwd=env).stderr  # said once


@pytest.mark.slow
def test_a_session_the_archive_refuses_stays_waiting_with_its_reason(tmp_path):
    directory = tmp_path / "archive"
    doc = document()
    kept = archiver.hand_over(directory, doc["id"], 1, json.dumps(doc).encode())
    (directory / "sessions.lance").write_text("not a table")
    assert archiver.drain(Archive(directory)) == 0
    [line] = archiver.problems(directory)
    assert line.startswith(f"session {doc['id']} could not be archived (RuntimeError: lance") and "\n" not in line
    assert line.endswith(f"kept in {kept} for the next run") and kept.exists()
    (directory / "sessions.lance").unlink()
    assert archiver.drain(Archive(directory)) == 1 and not kept.exists()
    assert archiver.problems(directory) == []


def test_a_waiting_file_that_is_no_session_is_set_aside_and_said(tmp_path):
    waiting = archiver.hand_over(tmp_path, "session-20250101-120000-0000000f", 1, b"{not json")
    assert archiver.drain(Archive(tmp_path)) == 0
    [line] = archiver.problems(tmp_path)
    kept = waiting.with_suffix(".corrupt")
    assert line.startswith(f"{waiting} is not a session (") and line.endswith(f"kept as {kept}")
    assert kept.read_bytes() == b"{not json" and not waiting.exists()


@pytest.mark.slow
def test_two_archivers_at_once_archive_each_version_once(tmp_path):
    directory = tmp_path / "archive"
    docs = [document(f"session-20250101-120000-0000000{n}", version=n) for n in (1, 2, 3)]
    for doc in docs:
        archiver.hand_over(directory, doc["id"], doc["version"], json.dumps(doc).encode())
    children = [archiver.start(directory, sweep=False) for _ in range(2)]
    assert [child.wait(120) for child in children] == [0, 0]
    archive = Archive(directory)
    assert archive.versions() == {doc["id"]: doc["version"] for doc in docs}
    assert len(archive._scan(["id"])) == 3  # each once
    assert archived(directory) == archive.versions()  # the ledger the listings read agrees with the table
    assert archiver.problems(directory) == [] and list(archiver.pending_dir(directory).iterdir()) == []


def test_the_ledger_reads_removals_and_skips_a_cut_line(tmp_path):
    archive = Archive(tmp_path)
    archive.record("session-a", 2)
    archive.record("session-b", 1)
    archive.record("session-a", 1)  # an older version archived later: the highest counts
    with (tmp_path / "archived.jsonl").open("a") as ledger:
        ledger.write('{"id": "session-c", "vers')  # a write cut short
    archive.record("session-b", 0)  # removed
    assert archived(tmp_path) == {"session-a": 2}
    assert archived(tmp_path / "missing") == {}


def test_an_archive_made_before_the_ledger_gets_one(tmp_path):
    archive = Archive(tmp_path)
    archive.put(document(), json.dumps(document()).encode())
    (tmp_path / "archived.jsonl").unlink()
    archive.fill_ledger()
    assert archived(tmp_path) == {document()["id"]: 1}
    archive.fill_ledger()  # once: an existing ledger is left alone
    assert len((tmp_path / "archived.jsonl").read_text().split("\n")) == 2  # one entry, after its newline


@pytest.mark.slow
def test_search_archives_what_waits_and_rm_drops_it_too(env):
    doc = document(question="where do the narwhals swim?")
    archiver.hand_over(archive_dir(), doc["id"], 1, json.dumps(doc).encode())  # an archiver never came
    found = run("sessions", "search", "narwhals", "--json", cwd=env)
    assert found.returncode == 0, found.stderr
    assert [(hit["id"], hit["live"]) for hit in json.loads(found.stdout)] == [(doc["id"], False)]
    assert list(archiver.pending_dir(archive_dir()).iterdir()) == []
    newer = {**doc, "version": 2}
    archiver.hand_over(archive_dir(), doc["id"], 2, json.dumps(newer).encode())
    removed = run("sessions", "rm", doc["id"], cwd=env)
    assert removed.returncode == 0 and removed.stdout == f"removed {doc['id']}\n", removed.stderr
    assert list(archiver.pending_dir(archive_dir()).iterdir()) == []  # no archiver brings it back
    assert json.loads(run("sessions", "search", "narwhals", "--json", cwd=env).stdout) == []
    assert archived(archive_dir()) == {}


@pytest.mark.slow
def test_ctrl_d_at_the_prompt_leaves_the_archiving_to_a_background_archiver(env):
    from tests.helpers.pty_session import PtySession

    terminal = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "PROMPT_TOOLKIT_NO_CPR": "1"}
    session = PtySession([AGENTWINTER], terminal, cwd=str(env))
    try:
        session.wait_for("❯")
        mark = len(session.output)
        session.send("remember the walrus\r")
        session.wait_for("⏱", after=mark)
        session.wait_for("❯", after=session.output.index("⏱".encode(), mark))
        session.send("\x04")
        assert session.process.wait(60) == 0
    finally:
        session.close()
    shown = session.output.decode(errors="replace").replace("\r\n", "\n")
    assert "import time:" in shown and HEAVY.findall(shown) == []
    archivers.wait_all(archive_dir())
    assert len(Archive(archive_dir()).versions()) == 1


def sweeping_archiver(cwd: Path) -> subprocess.CompletedProcess[str]:
    """A sweeping archiver, as a run starts it, reporting every module it imports (-X importtime)."""
    argv = [sys.executable, "-X", "importtime", "-m", "agentwinter_sessions.archiver", str(archive_dir()), "--sweep"]
    return subprocess.run(argv, input="", capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.slow
def test_a_sweep_with_nothing_to_archive_never_imports_lancedb(env, fake_api, monkeypatch):
    monkeypatch.setattr(archiving, "SWEEP_DELAY", 600.0)  # the runs' own sweeps stay out of the way
    app, agent = make_app(env)
    run_query(app, agent, "far from expiry")  # 45 minutes to live: not the sweep's
    idle = sweeping_archiver(env)
    assert idle.returncode == 0 and HEAVY.findall(idle.stderr) == [], idle.stderr[-2000:]
    assert archived(archive_dir()) == {}
    monkeypatch.setenv("AGENTWINTER_SESSION_TTL", "60")
    app, agent = make_app(env)
    run_query(app, agent, "close to expiry")
    busy = sweeping_archiver(env)
    assert busy.returncode == 0 and HEAVY.findall(busy.stderr), busy.stderr[-2000:]
    assert archived(archive_dir()) == {tracker(app).state.id: 1}  # the one that expires soon, alone
