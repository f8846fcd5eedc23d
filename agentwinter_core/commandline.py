"""The ``agentwinter`` command line, built with typer from the core's and the plugins' options and commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from agentwinter_core import __version__
from agentwinter_core.cli import run
from agentwinter_core.config import EDIT_MODES
from agentwinter_core.host import PluginManager

PLUGIN_OPTIONS = "agentwinter.plugin_options"  # ctx.meta key of the plugins' option values
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
            "options": ctx.meta.get(PLUGIN_OPTIONS, {}),
        }
        if ctx.invoked_subcommand is None:
            raise typer.Exit(run(pm, prompt, **ctx.obj))

    cli.callback(invoke_without_command=True, cls=with_plugin_options(pm))(root)

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


def with_plugin_options(pm: PluginManager) -> type[TyperGroup]:
    """The root command's class: typer's group plus a typer option for each plugin option (register_cli_options).

    A name or flag already taken is skipped with one warning. The values go to ``ctx.meta[PLUGIN_OPTIONS]``
    (not to the callback's arguments, which typer derives from its signature).
    """
    wanted = [option for found in pm.hook.register_cli_options() for option in found or []]
    chosen: list[TyperOption] = []
    decided = False  # typer builds the command at every invocation: warn once

    def keep(ctx: typer.Context, param: Any, value: Any) -> Any:
        ctx.meta.setdefault(PLUGIN_OPTIONS, {})[param.name] = value
        return value

    class Root(TyperGroup):
        def __init__(self, **kwargs: Any) -> None:
            nonlocal decided
            super().__init__(**kwargs)
            if not decided:
                decided = True
                taken = {"help", "-h", "--help"} | {n for p in self.params for n in [p.name, *p.opts] if n}
                for option in wanted:
                    if {option.name, *option.flags} & taken or not option.name.isidentifier():
                        pm.warn(f"command-line option {', '.join(option.flags)} ignored: already taken")
                        continue
                    taken |= {option.name, *option.flags}
                    chosen.append(
                        TyperOption(
                            param_decls=[*option.flags, option.name],
                            is_flag=option.switch,
                            default=False if option.switch else None,
                            help=option.help,
                            metavar=None if option.switch else option.metavar,
                            callback=keep,
                            expose_value=False,
                        )
                    )
            self.params += chosen

    return Root
