"""agentwinter plugin ``cleanup``: keeps the context bounded without fighting the prompt cache.

The hooks are ``trylast`` defaults: any other installed plugin's ``cleanup_messages`` wins. The work is
in ``policies.py`` (pure functions), ``settings.py`` and ``report.py`` (what was removed, ``!context``).
"""

from __future__ import annotations

from typing import Any

from agentwinter_core.api import App, Command, Message, hookimpl, plugin_state

__version__ = "0.1.0"


def current_settings(app: App) -> Any:  # -> Settings, read once per run
    from agentwinter_cleanup.settings import Settings

    return plugin_state(app, "cleanup", lambda: Settings.load(app.config, app.ui.warn))


@hookimpl(trylast=True)
def cleanup_messages(messages: list[Message], app: App) -> list[Message]:
    from agentwinter_cleanup import policies, report

    outcome = policies.run(current_settings(app), messages)
    report.record(app, outcome)
    return outcome.messages


@hookimpl
def register_commands() -> list[Command]:
    return [Command("context", "what cleanup has removed from this conversation so far")]


@hookimpl
def on_command(app: App, name: str) -> str | None:
    if name != "context":
        return None
    from agentwinter_cleanup import report

    return report.context(app, current_settings(app))
