"""agentwinter in a real terminal (tmux): what a person sees while waiting, streaming and cancelling.

Every test reads the terminal's whole scrollback with capture-pane, so a line drawn twice shows up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from agentwinter_cleanup.settings import Settings

from tests.helpers.fake_api import FakeAnthropic, text, tool_use, with_thinking
from tests.helpers.tmux import Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
ROWS = 24
AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


def terminal_env(fake_api: FakeAnthropic, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "xterm-256color",
        **fake_api.env(),
        **{name: os.environ[name] for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "AGENTWINTER_ARCHIVE_DIR")},
        "AGENTWINTER_DISABLE_PLUGINS": "sessions",  # no Redis here: the terminal is what is under test
    }


@pytest.fixture
def terminal(fake_api: FakeAnthropic, tmp_path: Path) -> Iterator[Tmux]:
    (tmp_path / "notes.md").write_text("# Notes\n")
    term = Tmux([AGENTWINTER], terminal_env(fake_api, tmp_path), str(tmp_path), rows=ROWS, cols=80)
    try:
        term.wait_for("❯")
        yield term
    finally:
        term.close()


def long_answer(lines: int) -> str:
    items = "\n".join(f"{n}. item number {n} of the list" for n in range(1, lines + 1))
    code = "```python\nprint('x')\n```"
    return f"# Findings\n\nThe project has these parts:\n\n{items}\n\nThat was **all**.\n\n{code}\n\nDone."


@pytest.mark.slow
def test_a_long_answer_appears_once_in_the_scrollback(terminal, fake_api):
    fake_api.add(text(long_answer(3 * ROWS), delay=0.002))
    terminal.send("list the parts", "Enter")
    screen = terminal.wait_for("⏱")
    assert screen.count("Findings") == 1
    for n in range(1, 3 * ROWS + 1):
        assert screen.count(f"item number {n} of the list") == 1, f"item {n}:\n{screen}"
    assert screen.index("That was all.") < screen.index("print('x')") < screen.index("Done.") < screen.index("⏱")


@pytest.mark.parametrize("rows", [5, 60])
@pytest.mark.slow
def test_a_long_answer_appears_once_at_any_terminal_height(fake_api, tmp_path, rows):
    fake_api.add(text(long_answer(3 * rows), delay=0.002))
    term = Tmux([AGENTWINTER], terminal_env(fake_api, tmp_path), str(tmp_path), rows=rows, cols=60)
    try:
        term.wait_for("❯")
        term.send("list the parts", "Enter")
        screen = term.wait_for("⏱")
    finally:
        term.close()
    assert screen.count("Findings") == 1
    assert all(screen.count(f"item number {n} of the list") == 1 for n in range(1, 3 * rows + 1)), screen


@pytest.mark.slow
def test_a_status_line_says_the_model_is_thinking_until_the_answer_starts(terminal, fake_api):
    # delay per streamed event: the first words come late enough to be seen waiting
    fake_api.add(text("The answer is **42**.", delay=0.4))
    terminal.send("what is it", "Enter")
    waiting = terminal.wait_for("Ctrl-C to cancel")
    assert "thinking…" in waiting
    screen = terminal.wait_for("⏱")
    assert "The answer is 42." in screen
    assert "Ctrl-C to cancel" not in screen  # gone once the words came, not left in the scrollback


@pytest.mark.slow
def test_extended_thinking_shows_as_reasoning(terminal, fake_api):
    fake_api.add(with_thinking(text("Done thinking.", delay=0.05), "Let me weigh this carefully. " * 8))
    terminal.send("think hard", "Enter")
    assert "reasoning (extended thinking)" in terminal.wait_for("reasoning")
    screen = terminal.wait_for("⏱")
    assert "Done thinking." in screen and "reasoning" not in screen


@pytest.mark.slow
def test_tools_say_which_tool_ran_on_which_path(terminal, fake_api):
    fake_api.add(tool_use("read_file", {"path": "notes.md"}), text("It has one heading."))
    terminal.send("read the notes", "Enter")
    screen = terminal.wait_for("⏱")
    assert "⚙ read_file notes.md" in screen
    assert screen.index("⚙ read_file notes.md") < screen.index("It has one heading.")


@pytest.mark.slow
def test_ctrl_c_while_streaming_prints_the_answer_so_far_once_and_no_empty_timing(terminal, fake_api):
    fake_api.add(replace(text(long_answer(40)), fault="stall", stall=60, stall_after=12))  # holds after item 5
    terminal.send("list the parts", "Enter")
    terminal.wait_for("item number 3 ")
    terminal.send("C-c")
    screen = terminal.wait_for("interrupted")
    assert screen.count("Findings") == 1
    assert "0 in · 0 out" not in screen and "⏱" not in screen
    terminal.send("exit", "Enter")


@pytest.mark.slow
def test_piped_output_carries_the_answer_only(fake_api, tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\n")
    fake_api.add(with_thinking(tool_use("read_file", {"path": "notes.md"}), "hmm"), text("One heading."))
    env = {**os.environ, **fake_api.env(), "AGENTWINTER_DISABLE_PLUGINS": "sessions"}
    done = subprocess.run(
        [AGENTWINTER], input="read the notes\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.stdout == "One heading.\n"
    assert "thinking" not in done.stderr and "Ctrl-C" not in done.stderr


def test_command_output_wraps_between_words(fake_api, tmp_path):
    term = Tmux([AGENTWINTER], terminal_env(fake_api, tmp_path), str(tmp_path), rows=ROWS, cols=50)
    try:
        term.wait_for("❯")
        term.send("!context", "Enter")
        screen = term.wait_for("removed so far")
    finally:
        term.close()
    words = Settings().describe().split()
    rows = screen.split("\n")
    assert all(any(word in row for row in rows) for word in words), screen  # no word cut at the screen's edge


def test_finished_blocks_end_where_a_new_unindented_block_starts():
    from agentwinter_core.ui import finished_length

    text = "# Title\n\nA paragraph\nstill it.\n\n- item\n\n  more of the item\n\n```\ncode\n\nstill code\n```\n\nTail"
    done = text[: finished_length(text)]
    # the code block waits for a whole line after it
    assert done == "# Title\n\nA paragraph\nstill it.\n\n- item\n\n  more of the item\n\n"
    assert finished_length("no blank line yet\nmore") == 0
    assert finished_length("one\n\ntwo") == 0  # "two" is still streaming
    assert finished_length("one\n\ntwo\n") == len("one\n\n")
