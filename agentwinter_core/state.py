"""The objects hooks receive: the running app, its conversation, and what one query cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentwinter_core.config import Config
    from agentwinter_core.host import PluginManager
    from agentwinter_core.ui import UI

Message = dict[str, Any]  # one Messages-API message, JSON-safe: {"role": ..., "content": [...]}


@dataclass
class Usage:
    """Token counts as the API reports them; total input is the sum of the three input fields."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """Build from an SDK ``Usage`` object or a dict; missing or null fields count as 0."""
        get: Callable[[str], Any] = usage.get if isinstance(usage, dict) else lambda name: getattr(usage, name, None)
        return cls(**{name: int(get(name) or 0) for name in cls.__dataclass_fields__})

    def add(self, other: Usage) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}  # asdict() deep-copies: 10x slower


@dataclass
class Conversation:
    """The history sent to the model. Plugins may replace ``messages`` or keep data in ``metadata``."""

    messages: list[Message] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class QueryResult:
    """What ``after_response`` learns about the query that just finished."""

    query: str
    usage: Usage
    seconds: float
    stop_reason: str | None = None
    error: str | None = None  # one-line description when the query failed
    interrupted: bool = False  # Ctrl-C cancelled it
    changed: bool = True  # whether the history differs from before the query


@dataclass
class App:
    """Everything a hook may need about the running agentwinter."""

    config: Config
    ui: UI
    pm: PluginManager
    project_dir: Path
    model: str
    system_prompt: str
    interactive: bool = False  # a person at a terminal (stdin is a TTY)
    conversation: Conversation = field(default_factory=Conversation)
    # Options from the command line that plugins interpret (e.g. {"resume": "name"}).
    options: dict[str, Any] = field(default_factory=dict)
    # Per-run scratch space of plugins, keyed by plugin name; never persisted.
    plugin_state: dict[str, Any] = field(default_factory=dict)
    failed_queries: int = 0  # queries that ended in an error or were cancelled: a piped run exits 1


@dataclass(frozen=True)
class Command:
    """A ``!name`` REPL command a plugin offers, listed by ``!help``."""

    name: str  # without the "!"
    help: str
    usage: str = ""  # e.g. "NAME" for "!name NAME"


@dataclass(frozen=True)
class CliOption:
    """An option a plugin adds to the ``agentwinter`` command line (e.g. ``--resume ID``).

    Its value reaches the plugin in ``app.options[name]`` (None or False when not given).
    """

    name: str  # key in app.options; a Python identifier
    flags: tuple[str, ...]  # e.g. ("--resume",)
    help: str
    switch: bool = False  # True: on/off, takes no value
    metavar: str = "VALUE"


class UsageError(Exception):
    """A person's mistake a plugin refuses (say, ``--resume`` with an unknown name). Raised from a hook,
    it is not swallowed like other plugin errors: the run stops with this one-line message."""
