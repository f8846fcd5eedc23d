"""The approval prompt at a real terminal: the installed agentwinter on a pty, the model asking for edits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers import fake_api as fake
from tests.helpers import gitrepo
from tests.helpers.terminal import Terminal

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")
QUESTION = "[y]es / [n]o / [a]ll of this query"


@pytest.fixture
def terminal(fake_api, tmp_path, monkeypatch):
    gitrepo.isolate(tmp_path, monkeypatch)
    project = gitrepo.init(tmp_path / "project")
    gitrepo.commit(project, "start", **{"app.py": "a = 1\nb = 2\n", "lib.py": "c = 3\n"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
    env.update(
        fake_api.env(),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        AGENTWINTER_DISABLE_PLUGINS="sessions",
    )
    started = []

    def start(*args: str) -> Terminal:
        started.append(Terminal([AGENTWINTER, *args], env, project))
        started[-1].expect("❯")
        return started[-1]

    yield project, start
    for term in started:
        term.kill()


def edit(path: str, old: str, new: str) -> fake.Reply:
    return fake.tool_use("edit_file", {"path": path, "old_string": old, "new_string": new})


def results(request: dict) -> list[dict]:
    return [b for b in request["messages"][-1]["content"] if b.get("type") == "tool_result"]


@pytest.mark.slow
def test_yes_applies_no_declines_all_accepts_the_rest_of_the_query(fake_api, terminal):
    project, start = terminal
    fake_api.add(
        fake.tool_uses([("read_file", {"path": "app.py"}), ("read_file", {"path": "lib.py"})]),
        edit("app.py", "a = 1", "a = 10"),
        fake.text("first done"),
        # the next query: declined
        fake.tool_use("read_file", {"path": "app.py"}),
        edit("app.py", "b = 2", "b = 20"),
        fake.text("second done"),
        # the third: "a" accepts this change and the query's next ones, without asking again
        fake.tool_uses([("read_file", {"path": "app.py"}), ("read_file", {"path": "lib.py"})]),
        edit("app.py", "b = 2", "b = 30"),
        edit("lib.py", "c = 3", "c = 30"),
        fake.text("third done"),
        # the fourth asks again
        fake.tool_use("read_file", {"path": "lib.py"}),
        edit("lib.py", "c = 30", "c = 40"),
        fake.text("fourth done"),
    )
    term = start()
    term.type("change a\r")
    shown = term.expect(QUESTION)
    assert "edit_file app.py +1 −1" in shown
    assert "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 10\n b = 2\n" in shown
    assert b"\x1b[31m-a = 1" in term.raw and b"\x1b[32m+a = 10" in term.raw  # red and green
    term.type("y\r")
    assert "⚙ edit_file app.py +1 −1" in term.expect("first done")
    term.expect("❯")
    assert (project / "app.py").read_text() == "a = 10\nb = 2\n"

    term.type("change b\r")
    term.expect(QUESTION)
    term.type("n\r")
    term.expect("second done")
    term.expect("❯")
    assert (project / "app.py").read_text() == "a = 10\nb = 2\n"
    [declined] = results(fake_api.message_requests()[5])
    assert declined["is_error"] is True
    assert declined["content"] == "the user declined this change to app.py; the file is unchanged"

    term.type("change both\r")
    term.expect(QUESTION)
    term.type("a\r")
    after = term.expect("third done")
    assert QUESTION not in after and "⚙ edit_file lib.py +1 −1" in after
    term.expect("❯")
    assert (project / "app.py").read_text() == "a = 10\nb = 30\n"
    assert (project / "lib.py").read_text() == "c = 30\n"

    term.type("change c\r")
    term.expect(QUESTION)
    term.type("y\r")
    term.expect("fourth done")
    term.expect("❯")
    assert (project / "lib.py").read_text() == "c = 40\n"
    assert term.finish() == 0
    assert fake_api.violations == []
    assert len(fake_api.message_requests()) == 13


@pytest.mark.slow
def test_edits_off_at_a_terminal_offers_no_edit_tools(fake_api, terminal):
    _, start = terminal
    fake_api.add(fake.text("just reading"))
    term = start("--edits", "off")
    term.type("hello\r")
    term.expect("just reading")
    term.expect("❯")
    assert term.finish() == 0
    names = {tool["name"] for tool in fake_api.message_requests()[0]["tools"]}
    assert "read_file" in names and "shell" in names and not names & {"write_file", "edit_file"}
