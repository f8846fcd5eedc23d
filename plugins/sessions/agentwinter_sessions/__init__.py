"""agentwinter plugin ``sessions``: conversations kept in Redis across queries.

Thin hook layer; the work is in ``session.py`` (per-run state), ``store.py`` (Redis, imported only
when the first query is saved) and ``commands.py``.
"""

from __future__ import annotations

from agentwinter_core import hookimpl
from agentwinter_core.state import App, Command, QueryResult

__version__ = "0.1.0"


def tracker(app: App):  # -> Tracker; typed loosely to keep start-up imports small
    from agentwinter_sessions.session import Tracker

    if "sessions" not in app.plugin_state:
        app.plugin_state["sessions"] = Tracker(app)
    return app.plugin_state["sessions"]


@hookimpl
def before_query(app: App) -> None:
    tracker(app).before_query()


@hookimpl
def after_response(app: App, result: QueryResult) -> None:
    tracker(app).after_response(result)


@hookimpl
def register_commands() -> list[Command]:
    return [
        Command("new", "start a fresh session (the current one stays until it expires)"),
        Command("sessions", "list active sessions"),
        Command("cache", "prompt-cache and session-store figures for this session"),
    ]


@hookimpl
def on_command(app: App, name: str) -> str | None:
    if name not in ("new", "sessions", "cache"):
        return None
    from agentwinter_sessions import commands

    return getattr(commands, name)(tracker(app))
