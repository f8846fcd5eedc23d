"""agentwinter built in process as the CLI builds it, and the installed CLI: what the session tests drive."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command
from agentwinter_core.ui import UI
from tests.helpers.gitrepo import isolate

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


def project_env(fake_api, redis_server, tmp_path, monkeypatch) -> Path:
    """A project directory, with the fake API, a Redis and an isolated git and config."""
    isolate(tmp_path, monkeypatch)
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_REDIS_URL", redis_server.url())
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(tmp_path / "config.toml"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "features.txt").write_text("search\nexport\nsync\n")
    return project


CORE_ONLY = frozenset({"sessions", "cleanup", "serialization"})  # the core's own defaults, nothing installed


def talk_to(fake_api, monkeypatch, config: Path) -> None:
    """This process talks to the fake Messages API, with ``config`` as its config file."""
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(config))


def core_app(project: Path, *plugins, disabled=CORE_ONLY):
    """An in-process agentwinter without the ``disabled`` plugins, with these plugin objects; output captured."""
    pm = build_plugin_manager(disabled=set(disabled))
    for plugin in plugins:
        pm.register(plugin)
    app = build_app(pm, interactive=False, project_dir=project)
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    return app, build_agent(app)


def make_app(project: Path, **options):
    """An in-process agentwinter with every installed plugin but cleanup, started with these options."""
    pm = build_plugin_manager(disabled={"cleanup"})
    app = build_app(pm, interactive=False, project_dir=project, options=options)
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    agent = build_agent(app)
    pm.hook.startup(app=app)
    return app, agent


def err(app) -> str:
    return app.ui.err.file.getvalue()


def out(app) -> str:
    return app.ui.out.file.getvalue()


def command(app, line: str) -> str:
    """What one ``!command`` printed."""
    before = len(out(app))
    run_command(app, line)
    return out(app)[before:]


def cli(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed command, run to its end."""
    return subprocess.run([AGENTWINTER, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120)


def invoke(args: list[str], stdin: str = "", disabled: frozenset[str] = frozenset()):
    """The command line ``args`` run in this process (typer's test runner: a ``Result``). Caches of an earlier
    run (another test's settings, its Redis) are cleared first."""
    from agentwinter_sessions import cli as sessions_cli
    from typer.testing import CliRunner

    from agentwinter_core.commandline import build_cli

    sessions_cli.settings.cache_clear()
    sessions_cli.OPENED.clear()
    return CliRunner().invoke(build_cli(build_plugin_manager(disabled=set(disabled))), args, input=stdin)


def cli_here(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """What ``cli`` answers, run in this process: for tests that would otherwise pay a process's imports on
    every call (LanceDB's take seconds)."""
    with contextlib.chdir(cwd):
        done = invoke(list(args), stdin)
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)


def resume_in(app, session_id: str) -> None:
    """Another terminal resumes the session, as --resume does."""
    from agentwinter_sessions import switching, tracker

    switching.open_session(tracker(app), session_id)


def is_save(commands) -> bool:
    """The commands of a save's writing round trip (``Transaction.send``): MULTI, the document's SET, ... EXEC."""
    return commands[0] == ("MULTI",) and ("EXEC",) in commands


def user_texts(messages) -> list[str]:
    return [b["text"] for m in messages if m["role"] == "user" for b in m["content"] if b.get("type") == "text"]


def cli_env(fake_api, home: Path, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of an installed-CLI run: none of the developer's AGENTWINTER_ or ANTHROPIC_ variables,
    the fake API, data and config under ``home``, the archive off (each archiver is ~2 s of CPU; pass
    ``AGENTWINTER_ARCHIVE="on"`` for it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
    env.update(fake_api.env(), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    env["AGENTWINTER_ARCHIVE"] = "off"
    if redis_url is not None:
        env["AGENTWINTER_REDIS_URL"] = redis_url
    return {**env, **extra}
