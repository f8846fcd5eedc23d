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
    core = tables.get("agentwinter", {}) if isinstance(tables.get("agentwinter"), dict) else {}
    config.model = str(core.get("model", config.model))
    config.max_tokens = positive_int(
        core.get("max_tokens", config.max_tokens), "max_tokens", DEFAULT_MAX_TOKENS, config.problems.append
    )
    config.allow_shell = bool(core.get("allow_shell", config.allow_shell))
    if "edits" in core:
        if core["edits"] in EDIT_MODES:
            config.edits = core["edits"]
        else:
            config.problems.append(f'edits must be "ask", "auto" or "off", not {core["edits"]!r}; using the default')
    if env_model := os.environ.get("AGENTWINTER_MODEL"):
        config.model = env_model
    for name, value in flags.items():
        if value is not None:
            setattr(config, name, value)
    return config


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
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
