"""Ctrl-C never kills the process: a second one while streaming cancels like the first; piped runs say
by their exit code that a query failed."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agentwinter_core import hookimpl
from agentwinter_core.repl import prompt_history, run_lines
from tests.helpers import fake_api as fake
from tests.helpers.app import cli_env as installed_cli_env
from tests.helpers.app import core_app, talk_to
from tests.helpers.pty_session import PtySession

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


@pytest.fixture
def make_app(fake_api, tmp_path, monkeypatch):
    talk_to(fake_api, monkeypatch, tmp_path / "none.toml")
    return lambda *plugins: core_app(tmp_path, *plugins)


def test_ctrl_c_after_the_answer_does_not_end_the_piped_run(fake_api, make_app):
    class InterruptedOnce:
        calls = 0

        @hookimpl
        def after_response(self):
            InterruptedOnce.calls += 1
            if InterruptedOnce.calls == 1:
                raise KeyboardInterrupt  # as if the second Ctrl-C landed in the bookkeeping after the query

    fake_api.add(fake.text("first"), fake.text("second"))
    app, agent = make_app(InterruptedOnce())
    run_lines(app, agent, ["one", "two"])
    assert app.ui.out.file.getvalue() == "first\nsecond\n"
    assert "warning: interrupted" in app.ui.err.file.getvalue()
    assert app.failed_queries == 1


def test_failed_queries_are_counted(fake_api, make_app):
    fake_api.add(fake.error(400, "invalid_request_error"), fake.text("fine"))
    app, agent = make_app()
    run_lines(app, agent, ["bad", "good", "!help"])
    assert app.failed_queries == 1


def cli_env(fake_api, tmp_path) -> dict[str, str]:
    return installed_cli_env(fake_api, tmp_path, AGENTWINTER_DISABLE_PLUGINS="sessions")  # the core alone


@pytest.mark.slow
def test_piped_run_exits_non_zero_when_a_query_failed(fake_api, tmp_path):
    fake_api.add(fake.text("one"), fake.error(401, "authentication_error"), fake.text("three"))
    done = subprocess.run(
        [AGENTWINTER], input="a\nb\nc\n", capture_output=True, text=True, env=cli_env(fake_api, tmp_path), timeout=60
    )
    assert done.stdout == "one\nthree\n"
    assert done.returncode == 1
    fake_api.add(fake.text("all good"))
    done = subprocess.run(
        [AGENTWINTER], input="a\n", capture_output=True, text=True, env=cli_env(fake_api, tmp_path), timeout=60
    )
    assert done.returncode == 0


@pytest.mark.slow
def test_two_quick_ctrl_c_while_streaming_cancel_the_query_only(fake_api, tmp_path):
    fake_api.add(replace(fake.text("a long answer " * 40), fault="stall", stall=60), fake.text("the next answer"))
    process = subprocess.Popen(
        [AGENTWINTER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(fake_api, tmp_path),
    )
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(b"tell a story\nand then?\n")
    process.stdin.close()
    assert fake_api.stalled.wait(30)  # the answer has started streaming, and holds until the Ctrl-C
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    out, err = process.stdout.read(), process.stderr.read()  # both end when the process does
    process.wait(timeout=60)
    assert b"the next answer" in out, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert process.returncode == 1  # one query was cancelled
    assert fake_api.violations == []


def test_a_history_file_that_is_a_directory_falls_back_to_memory(make_app, tmp_path, monkeypatch):
    from prompt_toolkit.history import InMemoryHistory

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data" / "agentwinter" / "history").mkdir(parents=True)
    app, _agent = make_app()
    assert isinstance(prompt_history(app), InMemoryHistory)
    warning = app.ui.err.file.getvalue().splitlines()
    assert len(warning) == 1 and "history is kept in memory" in warning[0] and "Is a directory" in warning[0]


def test_an_unwritable_data_directory_falls_back_to_memory(make_app, tmp_path, monkeypatch):
    from prompt_toolkit.history import InMemoryHistory

    (tmp_path / "home-file").write_text("not a directory")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home-file"))
    app, _agent = make_app()
    assert isinstance(prompt_history(app), InMemoryHistory)
    assert "Not a directory" in app.ui.err.file.getvalue()


def wait_for_raw_mode(fd: int) -> None:
    """The prompt reads keys only once it has left line mode: typing earlier would be buffered by the tty."""
    import termios

    deadline = 30 / 0.02
    while termios.tcgetattr(fd)[3] & termios.ICANON:
        deadline -= 1
        assert deadline > 0, "the prompt never switched the terminal to raw mode"
        select.select([], [], [], 0.02)


@pytest.mark.slow
def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_leaves(fake_api, tmp_path):
    fake_api.add(fake.text("the terminal answer"))
    session = PtySession([AGENTWINTER], {**cli_env(fake_api, tmp_path), "TERM": "dumb"}, cwd=str(tmp_path))
    try:
        session.wait_for("❯")
        wait_for_raw_mode(session.master)
        session.send("typed by mistake")
        session.wait_for("mistake")
        seen = len(session.output)
        session.send("\x03")  # Ctrl-C: the line is dropped, agentwinter stays
        session.wait_for("❯", after=seen)
        wait_for_raw_mode(session.master)
        session.send("hello\r")
        session.wait_for("the terminal answer")
        session.wait_for("❯", after=session.output.index(b"the terminal answer"))
        wait_for_raw_mode(session.master)
        session.send("\x04")  # Ctrl-D at an empty prompt leaves
        assert session.process.wait(timeout=30) == 0
    finally:
        session.close()
    queries = [r["messages"][-1]["content"][-1]["text"] for r in fake_api.message_requests()]
    assert queries == ["hello"]
