"""The plugin contract. Every hook agentwinter calls is specified here, with what it receives and returns.

The path of one query, top to bottom::

    REPL line ──> on_command (lines starting with "!")
             └──> before_query ──> agent loop (tools from register_tools,
                                    serialize_content for each reply)
                               ──> cleanup_messages ──> after_response

Implement hooks with ``from agentwinter_core.api import hookimpl`` (the public API, see ``api.py``) and
register the module in the entry-point group ``agentwinter``. A hook implementation may accept any
subset of the arguments listed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentwinter_core import hookspec

if TYPE_CHECKING:
    import typer

    from agentwinter_core.state import App, CliOption, Command, Message, QueryResult
    from agentwinter_core.tools import Tool


@hookspec
def register_tools(app: App) -> list[Tool]:
    """Offer tools to the model.

    Called once when the agent is built. Receives the running ``app``. Returns a list of
    :class:`agentwinter_core.tools.Tool`; results of all plugins are concatenated (a later name
    replaces an earlier one, so a plugin may override a builtin tool).
    """


@hookspec
def register_cli_commands(cli: typer.Typer) -> None:
    """Add sub-commands to the ``agentwinter`` command line.

    Called once while the CLI is built, before arguments are parsed (so also for ``--help``:
    import heavy modules inside the command functions, not at module level). Receives the root
    ``typer.Typer``; add commands or sub-apps to it. Returns nothing.
    """


@hookspec
def register_cli_options() -> list[CliOption]:
    """Add options to the ``agentwinter`` command itself (``agentwinter --resume NAME``).

    Called once while the CLI is built. Returns a list of :class:`agentwinter_core.state.CliOption`;
    each value given reaches the plugin as ``app.options[option.name]``. An option whose name or flag
    is already taken is skipped with a warning.
    """


@hookspec
def register_commands() -> list[Command]:
    """Describe the ``!name`` commands this plugin handles in ``on_command``, for ``!help``.

    Called each time ``!help`` is shown, to list every command with its usage and help; nothing else
    calls it (a ``!name`` line goes to ``on_command`` whether listed or not). Returns a list of
    :class:`agentwinter_core.state.Command`.
    """


@hookspec
def startup(app: App) -> None:
    """The app is built and about to take its first query.

    Called once per run, after configuration is read and before any query. Plugins open
    connections or prepare state here (lazily: a plugin must not make start-up slow), or act on
    their command-line options; raising :class:`agentwinter_core.state.UsageError` stops the run with
    its message (exit code 2). Returns nothing.
    """


@hookspec
def shutdown(app: App) -> None:
    """agentwinter is exiting normally (``exit``, Ctrl-D, end of piped input).

    Called once. Plugins flush or archive state here. Returns nothing.
    """


@hookspec
def before_query(app: App, query: str) -> None:
    """A query is about to be sent; the model has not seen it yet.

    Receives the ``app`` and the query text. ``app.conversation`` is empty here: the core keeps no
    history between queries, so a plugin that remembers (sessions) puts the conversation back,
    from memory or a store, and announces it. Must not append the query itself: the core appends it
    right after this hook, into the last message when that is the user's: a plugin's note for the
    model (a user text block it leaves last) travels with the query. Returns nothing.
    """


@hookspec
def after_response(app: App, result: QueryResult) -> None:
    """A query's tool loop has finished (answered, failed or interrupted).

    Receives the ``app`` with ``app.conversation`` already serialized, repaired and cleaned up, and
    the :class:`agentwinter_core.state.QueryResult` (usage, timing, error). Called after every
    query, also when the history did not change, and after ``!undo`` changed the conversation (then
    ``result.query`` is ``"!undo"``). Plugins persist or report here. Returns nothing.
    """


@hookspec(firstresult=True)
def on_command(app: App, name: str, args: str) -> str | None:
    """Handle a ``!name args`` line typed at the prompt or piped in.

    Receives the ``app``, the command ``name`` without "!" and the rest of the line as ``args``.
    Returns the text to show (markdown) when this plugin handled the command, or ``None`` to let
    the next plugin try. The first non-None result wins.
    """


@hookspec(firstresult=True)
def cleanup_messages(messages: list[Message], app: App) -> list[Message] | None:
    """Shrink the history before it is stored and sent again.

    Called after every query with the JSON-safe ``messages`` (and the ``app``, for settings and
    reporting). Returns the list of messages to keep, which must remain a valid conversation
    (every tool_use answered, roles alternating). Never edit the given messages in place: return new
    dicts for the ones that change and the very same objects for the others (stores re-send only
    what changed). Editing a message invalidates the thinking blocks after it (the API binds them
    to the history before them): drop those. The first non-None result wins; the default cleanup
    plugin is ``trylast`` and the core's own default returns the messages unchanged.
    """


@hookspec(firstresult=True)
def serialize_content(content: list[Any]) -> list[dict[str, Any]] | None:
    """Turn one API reply's content blocks (SDK objects or dicts) into JSON-safe dicts.

    Called for every assistant reply before it joins the history. Returns a list of dicts the
    Messages API accepts back verbatim (thinking signatures included). The first non-None result
    wins; the core's default uses the SDK's generic ``to_dict(mode="json")``.
    """


@hookspec(firstresult=True)
def dump_json(value: Any) -> bytes | None:
    """Encode a JSON-safe value to bytes, deterministically (sorted keys, compact).

    Used wherever agentwinter writes JSON (sessions, exports) so one plugin decides the format.
    Returns the encoded bytes. The first non-None result wins.
    """


def all_hook_names() -> list[str]:
    """Names of every hook in this contract, in definition order."""
    return [name for name, value in globals().items() if getattr(value, "agentwinter_spec", None) is not None]
