"""The ``agentwinter`` entry point. Heavy modules (anthropic, redis) load only when a query runs; typer and
pluggy not at all for ``--version``, nor for ``--help`` once its text is cached (see ``helpcache``)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from agentwinter_core import __version__

if TYPE_CHECKING:
    from agentwinter_core.host import PluginManager


def run(pm: PluginManager, query: str | None, **options: object) -> int:
    """One run: a single query, the piped lines, or the interactive REPL. Returns the exit code."""
    from agentwinter_core import preload
    from agentwinter_core.app import build_agent, build_app
    from agentwinter_core.query import run_query
    from agentwinter_core.repl import piped_lines, run_interactive, run_lines
    from agentwinter_core.state import UsageError

    app = build_app(pm, interactive=None if query is None else False, **options)  # type: ignore[arg-type]
    if not app.project_dir.is_dir():
        app.ui.error(f"--project {app.project_dir}: no such directory")
        return 2
    if not app.interactive:  # the REPL starts it once its prompt is up
        preload.start()
    agent = build_agent(app)
    try:
        pm.hook.startup(app=app)
    except UsageError as exc:
        app.ui.error(str(exc))
        return 2
    try:
        if query is not None:
            try:
                run_query(app, agent, query)
            except KeyboardInterrupt:
                return 130
            return 1 if app.failed_queries else 0
        if app.interactive:
            run_interactive(app, agent)
            return 0
        run_lines(app, agent, piped_lines())
        return 1 if app.failed_queries else 0  # a script must learn that a query failed
    finally:
        pm.hook.shutdown(app=app)


def main() -> None:
    """The console script: the command, then an exit that skips the interpreter's teardown."""
    code: object
    try:
        code = dispatch(sys.argv[1:])
    except SystemExit as done:  # typer ends every command this way
        code = done.code
    leave(code)


def dispatch(args: list[str]) -> int:
    """Run the command line ``args``; its exit code."""
    if args == ["--version"]:
        print(f"agentwinter {__version__}")
        return 0
    from agentwinter_core import helpcache

    if helpcache.wanted(args) and helpcache.show():
        return 0
    from agentwinter_core.host import build_plugin_manager

    pm = build_plugin_manager()
    try:
        if not args:  # the REPL or piped lines: nothing to parse, so no typer (~70 ms)
            return run(pm, None, options=default_options(pm))
        from agentwinter_core.commandline import build_cli

        with helpcache.recording(args):
            build_cli(pm)()
        return 0
    except KeyboardInterrupt:
        return 130


def leave(code: object) -> NoReturn:
    """End the process without the interpreter's teardown, which frees every module's objects one by one:
    ~0.3 s between Ctrl-D and the shell's prompt once the SDK is loaded. Nothing is lost by it: the
    plugins' shutdown hooks have run, files are closed as they are written, and the streams are flushed
    here. While a thread that is not a daemon still runs, the interpreter's own exit waits for it, as always."""
    if isinstance(code, str):  # sys.exit("message"), as click and typer may end
        print(code, file=sys.stderr)
        code = 1
    status = code if isinstance(code, int) else 0 if code is None else 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (| head), a closed stream: nothing to say
            stream.flush()
    os._exit(status)


def default_options(pm: PluginManager) -> dict[str, Any]:
    """The plugins' command-line options as a run without arguments has them: all off."""
    return {
        option.name: False if option.switch else None
        for found in pm.hook.register_cli_options()
        for option in found or []
    }


def __getattr__(name: str) -> Any:
    """``build_cli`` where it always was; it lives with typer in ``commandline``."""
    if name == "build_cli":
        from agentwinter_core.commandline import build_cli

        return build_cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
