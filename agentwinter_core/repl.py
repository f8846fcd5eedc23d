"""Reading input: a prompt_toolkit REPL at a terminal, one query per line when piped."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from agentwinter_core import preload
from agentwinter_core.agent import Agent
from agentwinter_core.config import data_dir
from agentwinter_core.query import run_command, run_query
from agentwinter_core.state import App

EXIT_WORDS = {"exit", "quit", "exit()", "quit()"}


def handle_line(app: App, agent: Agent, line: str) -> bool:
    """Act on one line of input; False when the person asked to leave."""
    text = line.strip()
    if not text:
        return True
    if text.lower() in EXIT_WORDS:
        return False
    try:
        if text.startswith("!"):
            run_command(app, text)
        else:
            run_query(app, agent, text)
    except KeyboardInterrupt:  # a second Ctrl-C, after the first cancelled the query: never the process
        app.failed_queries += not text.startswith("!")
        app.ui.warn("interrupted")
    return True


def run_lines(app: App, agent: Agent, lines: Iterable[str]) -> None:
    """Piped input: every line in order; a Ctrl-C cancels only the query it hits (handled inside). When the
    reader of the answers goes away (``| head``), the query under way finishes and the rest are not asked."""
    for line in lines:
        if not handle_line(app, agent, line) or app.ui.output_closed:  # closed: nobody reads the answers
            return


def run_interactive(app: App, agent: Agent) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings

    keys = KeyBindings()

    @keys.add("escape", "enter")  # Alt-Enter (or Esc then Enter) inserts a newline
    def _newline(event):  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")

    session: PromptSession[str] = PromptSession(history=prompt_history(app), key_bindings=keys)
    app.ui.info("agentwinter — ask about this project. !help for commands, Alt-Enter for a new line, Ctrl-D to leave.")
    preload.start()  # the SDK loads while the person types
    while True:
        try:
            line = session.prompt("❯ ", multiline=False)
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return
        if not handle_line(app, agent, line):
            return


def prompt_history(app: App) -> Any:
    """The REPL's history file; in memory, after one line saying why, when the file cannot be used."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = data_dir() / "history"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):  # fails now, not at every line, if it is a directory or not writable
            pass
        with path.open("rb"):
            pass
    except OSError as exc:
        app.ui.warn(f"history file {path} cannot be used ({exc.strerror or exc}); history is kept in memory")
        return InMemoryHistory()
    return FileHistory(str(path))


def piped_lines() -> Iterable[str]:
    return (line.rstrip("\n") for line in sys.stdin)
