"""The agent's edits across queries: per-query checkpoints and ``!undo``.

The tools themselves are registered with the other builtin tools; this plugin marks where each query
starts and undoes queries on request, with or without a plugin that keeps the conversation.
"""

from __future__ import annotations

from agentwinter_core import checkpoints, history, hookimpl
from agentwinter_core.edit_tools import state_of
from agentwinter_core.host import DEFAULT_PLUGINS
from agentwinter_core.state import App, Command, QueryResult, Usage

UNDO_USAGE = "[N] [--code | --conversation]"


@hookimpl(trylast=True)  # after a plugin that puts the conversation back
def before_query(app: App) -> None:
    state = state_of(app)
    state.accept_all, state.entry = False, None
    conversation = app.conversation
    if not conversation.messages:  # a fresh conversation: the model has read nothing in it yet
        state.seen.clear()
    if remembered(app):
        state.query = None  # this query's number, counted at its first edit (the history is there by then)
        return
    # Nothing keeps the conversation: carry the record of edits from one query's conversation to the next.
    state.query = state.runs
    state.runs += 1
    if state.previous is not None and conversation is not state.previous:
        for key in ("edits", "edit_group"):
            if key in state.previous.metadata:
                conversation.metadata.setdefault(key, state.previous.metadata[key])
    state.previous = conversation


def remembered(app: App) -> bool:
    """Whether a plugin (sessions) keeps the conversation between queries: one that restores it before a query.
    (A plugin that only watches before_query passes too: then ``!undo N`` counts this conversation's queries.)"""
    return any(impl.plugin_name not in DEFAULT_PLUGINS for impl in app.pm.hook.before_query.get_hookimpls())


@hookimpl
def register_commands() -> list[Command]:
    return [
        Command("undo", "put back the files the last N queries changed and drop them from the conversation", UNDO_USAGE)
    ]


@hookimpl(trylast=True)  # an installed plugin's !undo wins
def on_command(app: App, name: str, args: str) -> str | None:
    if name != "undo":
        return None
    words = args.split()
    code, conversation = "--conversation" not in words, "--code" not in words
    numbers = [word for word in words if word not in ("--code", "--conversation")]
    if (
        len(numbers) > 1
        or (numbers and not (numbers[0].isascii() and numbers[0].isdigit() and int(numbers[0]) > 0))
        or not (code or conversation)
    ):
        return f"usage: `!undo {UNDO_USAGE}` (N: how many of the last queries, 1 by default)"
    state = state_of(app)
    total = len(history.query_starts(app.conversation.messages)) if remembered(app) else state.runs
    try:
        report = checkpoints.undo(app, int(numbers[0]) if numbers else 1, total, code, conversation, remembered(app))
    except ValueError as exc:
        return str(exc)
    if remembered(app):  # the plugin that keeps the conversation saves the undo like a query's change
        app.pm.hook.after_response(app=app, result=QueryResult("!undo", Usage(), 0.0))
    return report
