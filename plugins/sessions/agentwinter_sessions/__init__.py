"""agentwinter plugin ``sessions``: conversations kept in Redis across queries.

Thin hook layer; the work is in ``session.py`` (per-run state), ``store.py`` (Redis, imported only
when the first query is saved) and ``commands.py``.
"""

from __future__ import annotations

from typing import Any

from agentwinter_core import hookimpl
from agentwinter_core.state import App, CliOption, Command, QueryResult, UsageError

__version__ = "0.1.0"


def tracker(app: App):  # -> Tracker; typed loosely to keep start-up imports small
    from agentwinter_sessions.session import Tracker

    if "sessions" not in app.plugin_state:
        app.plugin_state["sessions"] = Tracker(app)
    return app.plugin_state["sessions"]


@hookimpl
def register_cli_options() -> list[CliOption]:
    return [
        CliOption("session", ("--session", "-s"), "Resume the session with this name, or start one.", metavar="NAME"),
        CliOption("resume", ("--resume", "-r"), "Resume a session by id, id prefix or name.", metavar="ID|NAME"),
        CliOption("cont", ("--continue", "-c"), "Resume the latest session of this directory.", switch=True),
        CliOption("fork", ("--fork",), "With a resumed session: continue in a copy of it.", switch=True),
        CliOption("fork_at", ("--fork-at",), "Like --fork, keeping only the first N queries.", metavar="N"),
    ]


@hookimpl
def register_cli_commands(cli: Any) -> None:
    from agentwinter_sessions.cli import sessions_cli  # typer is loaded already; the rest is lazy inside

    cli.add_typer(sessions_cli(), name="sessions", help="List, show, remove, export, import, search, restore.")


# Seconds from start-up to loading the Redis client in the background (~0.4 s of imports here): by then a
# person is still typing, or a one-shot query's own imports are done and its request is on its way.
WARM_UP_DELAY = 2.0


@hookimpl
def startup(app: App) -> None:
    if any(app.options.get(key) not in (None, False) for key in ("session", "resume", "cont", "fork", "fork_at")):
        tracker(app).start(app.options)
        return
    from agentwinter_sessions.deferred import Deferred

    app.plugin_state["sessions.warm_up"] = Deferred(_load_modules, WARM_UP_DELAY)


def _load_modules() -> None:
    """Import what the first save needs, so it does not wait for redis-py's imports."""
    try:
        import agentwinter_sessions.session
        import agentwinter_sessions.store  # noqa: F401
    except Exception:  # a broken install: the first save meets it again and says so in one line
        pass


@hookimpl
def shutdown(app: App) -> None:
    if "sessions" in app.plugin_state:
        tracker(app).finish()


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
        Command("name", "name this session, to resume it with --session NAME", "NAME"),
        Command("resume", "switch to another session (id, id prefix or name)", "ID|NAME"),
        Command("fork", "continue in a copy of this session, optionally cut after N queries", "[N]"),
    ]


@hookimpl
def on_command(app: App, name: str, args: str) -> str | None:
    if name not in ("new", "sessions", "cache", "name", "resume", "fork"):
        return None
    from agentwinter_sessions import commands
    from agentwinter_sessions.errors import Offline
    from agentwinter_sessions.settings import redact
    from agentwinter_sessions.store import Unavailable

    try:
        return getattr(commands, name)(tracker(app), args)
    except UsageError as exc:  # a mistake at the prompt: say so, the REPL goes on
        return f"⚠ {exc}"
    except (Offline, *Unavailable):
        return f"⚠ Redis at {redact(tracker(app).settings.redis_url)} is unreachable: try again when it is back"
