"""The ``agentwinter`` command line, built with typer from the core's and the plugins' options and commands."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from agentwinter_core import __version__
from agentwinter_core.cli import run
from agentwinter_core.config import EDIT_MODES
from agentwinter_core.host import PluginManager

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
        edits: Annotated[
            str | None,
            typer.Option(
                "--edits",
                metavar="ask|auto|off",
                help="May the agent change files: ask first (default at a terminal), auto, or off (default "
                "when piped or with -p).",
            ),
        ] = None,
        project: Annotated[
            Path | None, typer.Option("--project", "-C", help="Project directory (default: here).")
        ] = None,
        **options: Any,  # the plugins' own options (register_cli_options)
    ) -> None:
        if version:
            typer.echo(f"agentwinter {__version__}")
            raise typer.Exit()
        if edits is not None and edits not in EDIT_MODES:
            typer.echo(f"error: --edits must be ask, auto or off, not {edits!r}", err=True)
            raise typer.Exit(2)
        ctx.obj = {
            "model": model,
            "allow_shell": allow_shell,
            "edits": edits,
            "project_dir": project,
            "options": options,
        }
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
        from agentwinter_core.ui import print_table  # rich: only for the listing

        print_table(
            [
                [r["name"], r["distribution"], r["version"], r["status"], ", ".join(r["hooks"]) or r["error"] or "-"]
                for r in rows
            ]
        )

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
