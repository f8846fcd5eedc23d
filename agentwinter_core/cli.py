"""The ``agentwinter`` command line. Heavy modules (anthropic, redis) load only when a query runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from agentwinter_core import __version__
from agentwinter_core.host import PluginManager, build_plugin_manager

HELP = "Ask Claude about the code project you are in. Without a command: an interactive session."


def build_cli(pm: PluginManager) -> typer.Typer:
    # show_locals off: a traceback must never print an API key held in a local variable.
    cli = typer.Typer(
        help=HELP,
        add_completion=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @cli.callback(invoke_without_command=True)
    def root(
        ctx: typer.Context,
        version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
        model: Annotated[str | None, typer.Option("--model", "-m", help="Claude model to use.")] = None,
        allow_shell: Annotated[
            bool, typer.Option("--allow-shell", help="Offer the shell tool without a terminal.")
        ] = False,
        prompt: Annotated[str | None, typer.Option("--print", "-p", help="Answer one query and exit.")] = None,
        project: Annotated[
            Path | None, typer.Option("--project", "-C", help="Project directory (default: here).")
        ] = None,
    ) -> None:
        if version:
            typer.echo(f"agentwinter {__version__}")
            raise typer.Exit()
        ctx.obj = {"model": model, "allow_shell": allow_shell, "project_dir": project}
        if ctx.invoked_subcommand is None:
            raise typer.Exit(run(pm, prompt, **ctx.obj))

    @cli.command()
    def ask(ctx: typer.Context, query: Annotated[str, typer.Argument(help="The question.")]) -> None:
        """Answer one query and exit."""
        raise typer.Exit(run(pm, query, **(ctx.obj or {})))

    @cli.command()
    def plugins(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
        """List plugins: distribution, version, status and the hooks each implements."""
        rows = [vars(info) for info in pm.infos()]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            hooks = ", ".join(row["hooks"]) or row["error"] or "-"
            typer.echo(f"{row['name']:<16} {row['distribution']} {row['version']:<9} {row['status']:<8} {hooks}")

    pm.hook.register_cli_commands(cli=cli)
    return cli


def run(pm: PluginManager, query: str | None, **options: object) -> int:
    """One run: a single query, the piped lines, or the interactive REPL. Returns the exit code."""
    from agentwinter_core.app import build_agent, build_app
    from agentwinter_core.query import run_query
    from agentwinter_core.repl import piped_lines, run_interactive, run_lines

    app = build_app(pm, interactive=None if query is None else False, **options)  # type: ignore[arg-type]
    agent = build_agent(app)
    pm.hook.startup(app=app)
    try:
        if query is not None:
            return 1 if run_query(app, agent, query).error else 0
        if app.interactive:
            run_interactive(app, agent)
        else:
            run_lines(app, agent, piped_lines())
        return 0
    finally:
        pm.hook.shutdown(app=app)


def main() -> None:
    pm = build_plugin_manager()
    try:
        build_cli(pm)()
    except KeyboardInterrupt:
        sys.exit(130)
