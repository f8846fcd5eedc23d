"""The path of one line of input, top to bottom.

A query: before_query → append the query → agent loop → repair → cleanup_messages → after_response.
A ``!command`` line: on_command.
"""

from __future__ import annotations

import time

from agentwinter_core import history
from agentwinter_core.agent import Agent
from agentwinter_core.state import App, Conversation, QueryResult

# The history is repaired after every query: only what the query added needs checking (see Repairs).
_repairs = history.Repairs()


def run_query(app: App, agent: Agent, query: str) -> QueryResult:
    started = time.perf_counter()
    # The core keeps nothing between queries: memory is a plugin's job (sessions restores it here).
    app.conversation = Conversation()
    app.pm.hook.before_query(app=app, query=query)
    conversation = app.conversation
    before = list(conversation.messages)
    history.append_user_text(conversation.messages, query)

    outcome = agent.answer(conversation.messages)
    if outcome.replies == 0 and (outcome.error or outcome.interrupted):
        conversation.messages = before  # nothing came back: forget the query, the person can retry
    conversation.messages = _repairs.repair(conversation.messages)
    cleaned = app.pm.hook.cleanup_messages(messages=conversation.messages, app=app)
    if cleaned is not None:
        conversation.messages = cleaned

    result = QueryResult(
        query=query,
        usage=outcome.usage,
        seconds=time.perf_counter() - started,
        stop_reason=outcome.stop_reason,
        error=outcome.error,
        interrupted=outcome.interrupted,
        changed=conversation.messages != before,
    )
    app.failed_queries += bool(result.error or result.interrupted)
    _report(app, result)
    app.pm.hook.after_response(app=app, result=result)
    return result


def _report(app: App, result: QueryResult) -> None:
    if result.interrupted:
        app.ui.warn("interrupted: this query was cancelled; the conversation is kept valid")
    if result.error:
        app.ui.error(result.error)
    if result.usage.input_tokens or result.usage.output_tokens or not (result.error or result.interrupted):
        app.ui.timing(result.seconds, result.usage)


def run_command(app: App, line: str) -> None:
    """A ``!name args`` line: the first plugin that answers wins."""
    name, _, args = line[1:].strip().partition(" ")
    if not name:
        app.ui.error("a command needs a name after '!': type !help")
        return
    output = app.pm.hook.on_command(app=app, name=name, args=args.strip())
    if output is None:
        app.ui.error(f"unknown command !{name}: type !help for the list")
    else:
        app.ui.output(output)
