"""agentwinter plugin ``sessions``: conversations kept in Redis across queries.

Thin hook layer; the work is in ``tracking.py`` (the run's current session, saved after each query),
``switching.py`` (resume, name, fork), ``store.py`` (the store's interface) with ``redis_store.py`` (Redis,
imported only when the first query is saved; its compare-and-set in ``transaction.py``), and ``commands.py`` /
``cli.py`` (the REPL's and the shell's).
"""

from __future__ import annotations

from typing import Any

from agentwinter_core.api import App, CliOption, Command, QueryResult, UsageError, hookimpl

__version__ = "0.1.0"


def run_settings(app: App):  # -> Settings; read once per run, checked at start-up
    if "sessions.settings" not in app.plugin_state:
        from agentwinter_sessions.settings import Settings

        app.plugin_state["sessions.settings"] = Settings.load(app.config, app.ui.warn)
    return app.plugin_state["sessions.settings"]


def tracker(app: App):  # -> Tracker; typed loosely to keep start-up imports small
    from agentwinter_sessions.tracking import Tracker

    if "sessions" not in app.plugin_state:
        app.plugin_state["sessions"] = Tracker(app, run_settings(app))
    return app.plugin_state["sessions"]


@hookimpl
def register_cli_options() -> list[CliOption]:
    return [
        CliOption("session", ("--session", "-s"), "Resume the session with this name, or start one.", metavar="NAME"),
        CliOption("resume", ("--resume", "-r"), "Resume a session by id, id prefix or name.", metavar="ID|NAME"),
        CliOption("cont", ("--continue", "-c"), "Resume the latest session of this directory.", switch=True),
        CliOption("fork", ("--fork",), "With a resumed session: continue in a copy of it.", switch=True),
        CliOption("fork_at", ("--fork-at",), "Like --fork, keeping only the first N queries.", metavar="N"),
        CliOption(
            "all_users",
            ("--all-users",),
            "With --resume/--continue: other users' sessions too (continued in a copy of your own).",
            switch=True,
        ),
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
    run_settings(app)  # a Redis URL that cannot work stops the run here, in one line, before the first query
    if any(
        app.options.get(key) not in (None, False)
        for key in ("session", "resume", "cont", "fork", "fork_at", "all_users")
    ):
        from agentwinter_sessions import switching

        switching.start(tracker(app), app.options)
        return
    from agentwinter_sessions.deferred import Deferred

    seal = run_settings(app).seal
    app.plugin_state["sessions.warm_up"] = Deferred(lambda: _load_modules(seal), WARM_UP_DELAY)


def _load_modules(seal: Any = None) -> None:
    """Import what the first save needs, so it does not wait for redis-py's (or cryptography's) imports."""
    try:
        import redis  # noqa: F401 - connect.client() imports it at the first store call: this is that import

        import agentwinter_sessions.redis_store
        import agentwinter_sessions.switching  # noqa: F401

        if seal is not None:
            seal.aead  # noqa: B018 - loads cryptography
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
        Command("sessions", "list your active sessions (--all-users: everyone's)", "[--all-users]"),
        Command("cache", "prompt-cache and session-store figures for this session"),
        Command("name", "name this session, to resume it with --session NAME", "NAME"),
        Command("resume", "switch to another of your sessions (id, id prefix or name)", "ID|NAME [--all-users]"),
        Command("fork", "continue in a copy of this session, optionally cut after N queries", "[N]"),
    ]


@hookimpl
def on_command(app: App, name: str, args: str) -> str | None:
    if name not in ("new", "sessions", "cache", "name", "resume", "fork"):
        return None
    from agentwinter_sessions import commands
    from agentwinter_sessions.failures import StoreError

    try:
        return commands.COMMANDS[name](tracker(app), args)
    except (UsageError, StoreError) as exc:  # a mistake at the prompt, or Redis: say so, the REPL goes on
        return f"⚠ {exc}"
    except Exception as exc:  # a bug of ours: still our command, never "unknown command !sessions"
        return f"⚠ !{name} failed: {type(exc).__name__}: {exc}"
    finally:
        tracker(app).tell_notices()
