"""Per-query checkpoints and ``!undo``: in one run, after a restart (sessions in Redis), with outside changes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from agentwinter_core import history
from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command, run_query
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers import gitrepo
from tests.helpers.app import cli_env
from tests.helpers.memory import Memory
from tests.helpers.terminal import Terminal

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")
APP = "naïve = 'café'\r\nvalue = 1\r\n".encode()  # CRLF and UTF-8: restored byte for byte
LIB = b"def helper():\n    return 1\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    gitrepo.isolate(tmp_path, monkeypatch)
    root = gitrepo.init(tmp_path / "project")
    (root / "app.py").write_bytes(APP)
    (root / "lib.py").write_bytes(LIB)
    gitrepo.git(root, "add", "-A")
    gitrepo.git(root, "commit", "-q", "-m", "start")
    return root


@pytest.fixture
def make_app(fake_api, project, monkeypatch):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    config = project.parent / "config.toml"
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(config))

    def make(*plugins, settings: str = ""):
        config.write_text(settings)
        pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
        for plugin in plugins:
            pm.register(plugin)
        app = build_app(pm, interactive=False, project_dir=project, edits="auto")
        app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
        return app, build_agent(app)

    return make


def edit(path: str, old: str, new: str) -> fake.Reply:
    return fake.tool_use("edit_file", {"path": path, "old_string": old, "new_string": new})


def read(*paths: str) -> fake.Reply:
    return fake.tool_uses([("read_file", {"path": path}) for path in paths])


def two_queries_of_edits(fake_api) -> None:
    fake_api.add(
        read("app.py"),
        edit("app.py", "value = 1", "value = 2"),
        fake.tool_use("write_file", {"path": "pkg/new.py", "content": "NEW = True\n"}),
        fake.text("first done"),
        read("app.py", "lib.py"),
        edit("app.py", "value = 2", "value = 3"),
        edit("lib.py", "return 1", "return 2"),
        fake.text("second done"),
    )


def out(app) -> str:
    return app.ui.out.file.getvalue()


def test_undo_restores_the_last_query_then_the_one_before(fake_api, make_app, project):
    two_queries_of_edits(fake_api)
    app, agent = make_app(Memory())
    run_query(app, agent, "first change")
    after_first = (project / "app.py").read_bytes()
    run_query(app, agent, "second change")
    assert (project / "lib.py").read_bytes() == b"def helper():\n    return 2\n"
    run_command(app, "!undo")
    assert "Restored 2 files: app.py, lib.py" in out(app)
    assert "Dropped the last query from the conversation." in out(app)
    assert (project / "app.py").read_bytes() == after_first
    assert (project / "lib.py").read_bytes() == LIB
    assert len(history.query_starts(app.conversation.messages)) == 1

    fake_api.add(fake.text("third done"))
    run_query(app, agent, "what is left?")
    sent = fake_api.message_requests()[-1]["messages"]
    assert [m["content"][0].get("text") for m in sent if m["role"] == "user" and "text" in m["content"][0]] == [
        "first change",
        "what is left?",
    ]
    run_command(app, "!undo 2")
    assert "Restored 2 files: app.py, pkg/new.py (removed: the agent created it)" in out(app)
    assert "Dropped the last 2 queries from the conversation." in out(app)
    assert (project / "app.py").read_bytes() == APP and not (project / "pkg/new.py").exists()
    assert app.conversation.messages == [] and app.conversation.metadata["edits"] == []
    assert gitrepo.git(project, "status", "--short", "--untracked-files=all") == ""
    assert fake_api.violations == []


def test_undo_code_or_conversation_only_and_bad_arguments(fake_api, make_app, project):
    two_queries_of_edits(fake_api)
    app, agent = make_app(Memory())
    run_query(app, agent, "first change")
    run_query(app, agent, "second change")
    messages = list(app.conversation.messages)
    run_command(app, "!undo --code")
    assert (project / "lib.py").read_bytes() == LIB and app.conversation.messages == messages
    run_command(app, "!undo --conversation")
    assert len(history.query_starts(app.conversation.messages)) == 1
    assert (project / "app.py").read_bytes() != APP  # the first query's change stays
    for bad in ("!undo x", "!undo 0", "!undo ²", "!undo 1 2", "!undo --code --conversation"):
        run_command(app, bad)
    assert out(app).count("usage: `!undo [N] [--code | --conversation]`") == 5
    run_command(app, "!undo 5")
    assert "there is only 1 query to undo" in out(app)


def test_undo_conversation_only_keeps_the_files_and_forgets_their_checkpoint(fake_api, make_app, project):
    two_queries_of_edits(fake_api)
    app, agent = make_app(Memory())
    run_query(app, agent, "first change")
    run_query(app, agent, "second change")
    edited = (project / "lib.py").read_bytes()
    run_command(app, "!undo --conversation")
    assert "Dropped the last query from the conversation." in out(app) and "Restored" not in out(app)
    assert (project / "lib.py").read_bytes() == edited
    # Now the first query. The forgotten second one changed app.py after it: like any change since the
    # agent's edit, that is not overwritten without a yes.
    run_command(app, "!undo")
    assert "Restored 1 file: pkg/new.py (removed: the agent created it)" in out(app)
    assert "Not restored: app.py (changed since the agent's edit; left as it is)" in out(app)
    assert (project / "app.py").read_bytes() == APP.replace(b"value = 1", b"value = 3")
    assert (project / "lib.py").read_bytes() == edited
    run_command(app, "!undo")
    assert "nothing to undo yet" in out(app)


def test_an_outside_change_is_not_overwritten_without_asking(fake_api, make_app, project):
    fake_api.add(read("lib.py"), edit("lib.py", "return 1", "return 2"), fake.text("done"))
    app, agent = make_app()  # no plugin keeps the conversation: !undo still restores the files
    run_query(app, agent, "change lib")
    (project / "lib.py").write_bytes(b"# edited by hand\n")
    run_command(app, "!undo")
    assert "Not restored: lib.py (changed since the agent's edit; left as it is)" in out(app)
    assert (project / "lib.py").read_bytes() == b"# edited by hand\n"


def test_the_oldest_checkpoints_go_first_past_the_size_cap(fake_api, make_app, project):
    fake_api.add(
        read("app.py"),
        edit("app.py", "value = 1", "value = 2"),
        fake.text("first"),
        read("lib.py"),
        edit("lib.py", "return 1", "return 2"),
        fake.text("second"),
    )
    app, agent = make_app(Memory(), settings="[agentwinter]\ncheckpoint_max_bytes = 40\n")
    run_query(app, agent, "one")
    assert "dropped" not in app.ui.err.file.getvalue()
    run_query(app, agent, "two")
    assert (
        "warning: dropped the 1 oldest checkpoint of this conversation (snapshots over 40 bytes): "
        "!undo cannot restore the files of those queries\n"
    ) in app.ui.err.file.getvalue()
    run_command(app, "!undo 2")
    assert "Restored 1 file: lib.py" in out(app)
    assert "Not restored: app.py (its snapshot was dropped)" in out(app)
    assert (project / "lib.py").read_bytes() == LIB


@pytest.mark.slow
def test_undo_works_after_a_restart_byte_for_byte(fake_api, redis_server, project, tmp_path):
    env = cli_env(fake_api, tmp_path, redis_server.url())

    def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [AGENTWINTER, "--session", "feature", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=project,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done

    two_queries_of_edits(fake_api)
    run("first change\nsecond change\n", "--edits", "auto")
    after_first = APP.replace(b"value = 1", b"value = 2")
    assert (project / "app.py").read_bytes() == APP.replace(b"value = 1", b"value = 3")
    assert (project / "pkg/new.py").exists()

    second = run("!undo\n")  # another process: only Redis and the data directory remember the edits
    assert "Restored 2 files: app.py, lib.py" in second.stdout
    assert "Dropped the last query from the conversation." in second.stdout
    assert (project / "app.py").read_bytes() == after_first and (project / "lib.py").read_bytes() == LIB

    fake_api.add(fake.text("back to one"))
    third = run("what now?\n!undo 2\n")
    sent = fake_api.message_requests()[-1]["messages"]
    assert len(history.query_starts(sent)) == 2  # the undone query is gone from the saved session
    assert "second change" not in str(sent)
    assert "Restored 2 files: app.py, pkg/new.py (removed: the agent created it)" in third.stdout
    assert (project / "app.py").read_bytes() == APP and not (project / "pkg/new.py").exists()
    assert fake_api.violations == []


@pytest.mark.slow
def test_undo_asks_before_overwriting_an_outside_change_at_a_terminal(fake_api, project, tmp_path):
    env = cli_env(fake_api, tmp_path, "redis://127.0.0.1:1")
    env["AGENTWINTER_DISABLE_PLUGINS"] = "sessions"
    fake_api.add(read("lib.py"), edit("lib.py", "return 1", "return 2"), fake.text("changed"))
    term = Terminal([AGENTWINTER, "--edits", "auto"], env, project)
    try:
        term.expect("❯")
        term.type("change lib\r")
        term.expect("changed")
        term.expect("❯")
        (project / "lib.py").write_bytes(b"# edited by hand\n")
        term.type("!undo\r")
        term.expect("lib.py changed since the agent's edit; overwrite it with the snapshot? [y/N]")
        term.type("y\r")
        term.expect("Restored 1 file: lib.py")
        term.expect("❯")
        assert (project / "lib.py").read_bytes() == LIB
        assert term.finish() == 0
    finally:
        term.kill()
