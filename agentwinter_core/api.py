"""The public plugin API: everything a plugin may import from agentwinter, declared in one place.

A plugin imports from here only (``from agentwinter_core.api import hookimpl, App``); the rest of
``agentwinter_core`` is the core's own and may change. What each name is for is in ``docs/plugins.md``.

Contracts that are not names:

- ``app.plugin_state`` is per-run scratch space, keyed by the plugin's name (``"sessions"``,
  ``"sessions.settings"``); read and fill it with :func:`plugin_state`. Never persisted.
- A note for the model (say, "this session was resumed") is a user text block a ``before_query``
  implementation leaves as the last message: the core merges the query into that message
  (:func:`history.append_user_text`), so roles still alternate.
- ``history`` is the module of conversation helpers (``blocks``, ``content_blocks``, ``tool_result_ids``,
  ``query_starts``, ``append_user_text``, ``problems``, ``repair``, ``same_prefix``): a plugin that edits
  the conversation keeps it valid with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agentwinter_core import history
from agentwinter_core.config import (
    Config,
    Setting,
    boolean,
    config_path,
    data_dir,
    load_config,
    positive_int,
    read_settings,
    whole_number,
)
from agentwinter_core.redact import redact, redact_url, scrubbed_env
from agentwinter_core.state import App, CliOption, Command, Conversation, Message, QueryResult, Usage, UsageError

if TYPE_CHECKING:
    import pluggy

    from agentwinter_core.ui import print_table

    hookimpl: pluggy.HookimplMarker

__all__ = [
    "App",
    "CliOption",
    "Command",
    "Config",
    "Conversation",
    "Message",
    "QueryResult",
    "Setting",
    "Usage",
    "UsageError",
    "boolean",
    "config_path",
    "data_dir",
    "history",
    "hookimpl",
    "load_config",
    "plugin_state",
    "positive_int",
    "print_table",
    "read_settings",
    "redact",
    "redact_url",
    "scrubbed_env",
    "whole_number",
]

T = TypeVar("T")


def plugin_state(app: App, key: str, make: Callable[[], T]) -> T:
    """``app.plugin_state[key]``, made by ``make()`` the first time this run asks for it."""
    if key not in app.plugin_state:
        app.plugin_state[key] = make()
    value: T = app.plugin_state[key]
    return value


def __getattr__(name: str) -> Any:
    """``hookimpl`` and ``print_table`` on first use: importing the API loads neither pluggy nor rich."""
    if name == "hookimpl":
        import agentwinter_core

        return agentwinter_core.hookimpl
    if name == "print_table":
        from agentwinter_core.ui import print_table

        return print_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
