"""The ``agentwinter`` command line. Heavy modules (anthropic, redis) load only when a query runs."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from agentwinter_core import __version__
from agentwinter_core.host import PluginManager, build_plugin_manager
from agentwinter_core.state import UsageError

HELP = "Ask Claude about the code project you are in. Without a command: an interactive session."


def build_cli(pm: PluginManager) -> typer.Typer:
    # show_locals off: a traceback must never print an API key held in a local variable.
    cli = typer.Typer(
        help=HELP,
        add_completion=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

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
        **options: Any,  # the plugins' own options (register_cli_options)
    ) -> None:
        if version:
            typer.echo(f"agentwinter {__version__}")
            raise typer.Exit()
        ctx.obj = {"model": model, "allow_shell": allow_shell, "project_dir": project, "options": options}
        if ctx.invoked_subcommand is None:
            raise typer.Exit(run(pm, prompt, **ctx.obj))

    with_plugin_options(root, pm)
    cli.callback(invoke_without_command=True)(root)

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
        cells = [
            [row["name"], row["distribution"], row["version"], row["status"], ", ".join(row["hooks"]) or row["error"]]
            for row in rows
        ]
        widths = [max(len(str(cell[i])) for cell in cells) for i in range(4)]
        for cell in cells:
            typer.echo("  ".join([*(str(c).ljust(w) for c, w in zip(cell, widths, strict=False)), cell[4] or "-"]))

    pm.hook.register_cli_commands(cli=cli)
    return cli


def with_plugin_options(root: Callable[..., None], pm: PluginManager) -> None:
    """Give ``root`` a signature with the plugins' options, which typer turns into real options."""
    signature = inspect.signature(root, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    taken = {"help", "h"} | {p.name for p in params} | {flag.lstrip("-") for p in params for flag in _flags(p)}
    for found in pm.hook.register_cli_options():
        for option in found or []:
            flags = {flag.lstrip("-") for flag in option.flags}
            if option.name in taken or flags & taken or not option.name.isidentifier():
                pm.warn(f"command-line option {', '.join(option.flags)} ignored: already taken")
                continue
            taken |= flags | {option.name}
            kind = bool if option.switch else str | None
            spec = typer.Option(*option.flags, help=option.help, metavar=None if option.switch else option.metavar)
            default = False if option.switch else None
            params.append(
                inspect.Parameter(
                    option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, spec]
                )
            )
    root.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]


def _flags(param: inspect.Parameter) -> list[str]:
    """The flags of a typer option parameter (in Annotated form typer keeps the first one as ``default``)."""
    flags = []
    for info in getattr(param.annotation, "__metadata__", ()):
        flags += [getattr(info, "default", None), *(getattr(info, "param_decls", None) or ())]
    return [flag for flag in flags if isinstance(flag, str) and flag.startswith("-")]


def run(pm: PluginManager, query: str | None, **options: object) -> int:
    """One run: a single query, the piped lines, or the interactive REPL. Returns the exit code."""
    from agentwinter_core.app import build_agent, build_app
    from agentwinter_core.query import run_query
    from agentwinter_core.repl import piped_lines, run_interactive, run_lines

    app = build_app(pm, interactive=None if query is None else False, **options)  # type: ignore[arg-type]
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
    pm = build_plugin_manager()
    try:
        build_cli(pm)()
    except KeyboardInterrupt:
        sys.exit(130)
