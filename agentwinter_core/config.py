"""Configuration: defaults < TOML config file < environment < command-line flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TOKENS = 32000  # streamed, so large values are fine
DEFAULT_STREAM_IDLE_TIMEOUT = 60.0  # seconds without a byte from the API before an answer is cancelled
EDIT_MODES = ("ask", "auto", "off")  # may the agent change files: after a yes at the terminal, always, never


def config_path() -> Path:
    """The TOML config file: $AGENTWINTER_CONFIG, else the platform config directory."""
    if env := os.environ.get("AGENTWINTER_CONFIG"):
        return Path(env)
    from platformdirs import user_config_path

    return user_config_path("agentwinter") / "config.toml"


def data_dir() -> Path:
    """Where agentwinter keeps per-user data (REPL history, archives)."""
    from platformdirs import user_data_path

    return user_data_path("agentwinter")


@dataclass
class Config:
    """Resolved settings. Plugin settings live in their own TOML table, read with ``section``."""

    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    allow_shell: bool = False
    stream_idle_timeout: float = DEFAULT_STREAM_IDLE_TIMEOUT
    edits: str | None = None  # one of EDIT_MODES; None: the default for the run (see edit_tools.edit_mode)
    tables: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the config file read, named in warnings
    problems: list[str] = field(default_factory=list)  # one-line warnings to show at start

    def section(self, name: str) -> dict[str, Any]:
        """The ``[name]`` table of the config file (empty when absent or not a table)."""
        value = self.tables.get(name)
        return value if isinstance(value, dict) else {}


def load_config(path: Path | None = None, **flags: Any) -> Config:
    """Read the config file and environment; ``flags`` that are not None win over both."""
    path = path or config_path()
    config = Config(path=path)
    config.tables = _read_toml(path, config.problems)
    core = config.tables.get("agentwinter", {})
    if not isinstance(core, dict):
        config.problems.append(f"config file {path}: [agentwinter] must be a table; ignored")
        core = {}
    for key in core:
        if key not in CORE_KEYS:
            config.problems.append(f"config file {path}: unknown key [agentwinter] {key} ignored")
    checked = read_settings(config, "agentwinter", CORE_KEYS, config.problems.append)
    config.tables["agentwinter"] = checked  # nobody reads a refused value
    for key, value in checked.items():
        if hasattr(config, key):
            setattr(config, key, value)
    if env_model := os.environ.get("AGENTWINTER_MODEL"):
        config.model = env_model
    for name, value in flags.items():
        if value is not None:
            setattr(config, name, value)
    return config


@dataclass(frozen=True)
class Setting:
    """One key of a config-file table: how its value is taken, and the words for a value that is refused."""

    take: Callable[[Any], Any]  # the typed value; raises ValueError or TypeError for a value of the wrong type
    expected: str  # what the value must be, e.g. "a positive whole number"
    default: Any = None  # named in the warning; None: "the default"
    env: str | None = None  # an environment variable that wins over the file; its text goes through ``take``


def read_settings(
    config: Config, section: str, keys: dict[str, Setting], warn: Callable[[str], None]
) -> dict[str, Any]:
    """The ``[section]`` keys of the config file (then their environment variables) that have the right type.

    A refused value costs one warning line naming the key and the file (or the variable), and is left
    out, so the caller's default holds. Keys not in ``keys`` are not looked at. Shared by the core and
    every plugin for their settings.
    """
    table = config.section(section)
    where = f"config file {config.path}: [{section}]" if config.path else f"[{section}]"
    values: dict[str, Any] = {}
    for key, setting in keys.items():
        found = [(table[key], f"{where} {key}")] if key in table else []
        if setting.env and (text := os.environ.get(setting.env)) is not None:
            found.append((text, setting.env))
        for raw, origin in found:  # the file first: the environment wins
            try:
                values[key] = setting.take(raw)
            except (TypeError, ValueError):
                using = "the default" if setting.default is None else repr(setting.default)
                warn(f"{origin} must be {setting.expected}, not {raw!r}; using {using}")
    return values


def whole_number(value: Any) -> int:
    """A positive whole number from a TOML integer or its text (an environment variable); ValueError otherwise."""
    if not isinstance(value, bool):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number > 0 and str(number) == str(value).strip():
            return number
    raise ValueError(value)


def boolean(value: Any) -> bool:
    """A TOML true or false; the string "false" is refused, never read as true (ValueError)."""
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def _checked(test: Callable[[Any], bool], convert: Callable[[Any], Any] = lambda v: v) -> Callable[[Any], Any]:
    """A ``Setting.take`` from a test of the value: the value itself (converted) when it passes."""

    def take(value: Any) -> Any:
        if not test(value):
            raise ValueError(value)
        return convert(value)

    return take


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_positive = _checked(lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0)  # TOML: "5" is refused

# The [agentwinter] keys (checkpoint_max_bytes is read where it is used, checkpoints.py; checked here with the rest).
CORE_KEYS: dict[str, Setting] = {
    "model": Setting(_checked(lambda v: isinstance(v, str) and bool(v.strip())), "a non-empty string", DEFAULT_MODEL),
    "max_tokens": Setting(_positive, "a positive whole number", DEFAULT_MAX_TOKENS),
    "allow_shell": Setting(boolean, "true or false (without quotes)", False),
    "stream_idle_timeout": Setting(
        _checked(lambda v: _number(v) and 0 < v <= 3600, float),
        "a number of seconds between 0 and 3600",
        DEFAULT_STREAM_IDLE_TIMEOUT,
    ),
    "edits": Setting(_checked(lambda v: v in EDIT_MODES), '"ask", "auto" or "off"'),
    "checkpoint_max_bytes": Setting(_positive, "a positive whole number"),
}


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        problems.append(f"config file {path} ignored: it is not UTF-8 text")
    except OSError as exc:
        problems.append(f"config file {path} ignored: {exc.strerror or exc}")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"config file {path} ignored: {exc}")
    return {}


def positive_int(value: Any, name: str, default: int, warn: Callable[[str], None]) -> int:
    """``value`` (a TOML integer or an environment string) as a positive whole number; otherwise one
    warning naming the setting, and ``default``. Shared by the core and plugins for their settings."""
    try:
        return whole_number(value)
    except ValueError:
        warn(f"{name} must be a positive whole number, not {value!r}; using {default}")
        return default
