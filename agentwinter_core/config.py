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
    problems: list[str] = field(default_factory=list)  # one-line warnings to show at start

    def section(self, name: str) -> dict[str, Any]:
        """The ``[name]`` table of the config file (empty when absent or not a table)."""
        value = self.tables.get(name)
        return value if isinstance(value, dict) else {}


def load_config(path: Path | None = None, **flags: Any) -> Config:
    """Read the config file and environment; ``flags`` that are not None win over both."""
    path = path or config_path()
    config = Config()
    tables = _read_toml(path, config.problems)
    config.tables = tables
    core = tables.get("agentwinter", {})
    if not isinstance(core, dict):
        config.problems.append(f"config file {path}: [agentwinter] must be a table; ignored")
        core = {}
    for key, value in list(core.items()):
        _set_checked(config, key, value, path)
    if env_model := os.environ.get("AGENTWINTER_MODEL"):
        config.model = env_model
    for name, value in flags.items():
        if value is not None:
            setattr(config, name, value)
    return config


# The [agentwinter] keys: what each must be, as a check and the words for the warning.
CORE_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty string"),
    "max_tokens": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a positive whole number"),
    "allow_shell": (lambda v: isinstance(v, bool), "true or false (without quotes)"),
    "stream_idle_timeout": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 3600,
        "a number of seconds between 0 and 3600",
    ),
    "edits": (lambda v: v in EDIT_MODES, '"ask", "auto" or "off"'),
    # read where it is used (checkpoints.py), checked here with the rest
    "checkpoint_max_bytes": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "a positive whole number",
    ),
}


def _set_checked(config: Config, key: str, value: Any, path: Path) -> None:
    """Take a config-file value only when it has the right type: never coerced ("false" is not false)."""
    if key not in CORE_KEYS:
        config.problems.append(f"config file {path}: unknown key [agentwinter] {key} ignored")
        return
    check, expected = CORE_KEYS[key]
    if not check(value):
        default = getattr(Config(), key, None)
        using = "the default" if default is None else repr(default)
        config.problems.append(
            f"config file {path}: [agentwinter] {key} must be {expected}, not {value!r}; using {using}"
        )
        del config.tables["agentwinter"][key]  # nobody reads a refused value
    elif hasattr(config, key):
        setattr(config, key, float(value) if key == "stream_idle_timeout" else value)


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
    if not isinstance(value, bool):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number > 0 and str(number) == str(value).strip():
            return number
    warn(f"{name} must be a positive whole number, not {value!r}; using {default}")
    return default
