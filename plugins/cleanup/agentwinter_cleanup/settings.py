"""How cleanup behaves: config file ``[cleanup]`` < environment ``AGENTWINTER_CLEANUP_*``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentwinter_core.api import Config, Setting, read_settings, whole_number

POLICIES = ("cache-aware", "original", "off")


@dataclass(frozen=True)
class Settings:
    policy: str = "cache-aware"
    # Tuned on the standard workload's six seeds (python -m bench): few, large batches keep >= 92 % of the
    # turns reading the cache, the lower trigger keeps the peak context within 1.5x the original policy's.
    keep: int = 1  # most recent tool results never touched (clears come after the answer that used them)
    trigger: int = 34_000  # estimated context tokens before anything is cleared
    clear_at_least: int = 20_000  # tokens a clear must remove to be worth rewriting the cache
    exclude_tools: tuple[str, ...] = ()  # tools whose results are never cleared

    @classmethod
    def load(cls, config: Config, warn: Callable[[str], None]) -> Settings:
        return cls(**read_settings(config, "cleanup", KEYS, warn))

    def describe(self) -> str:
        if self.policy != "cache-aware":
            return f"policy {self.policy}"
        excluded = ", ".join(self.exclude_tools) or "none"
        kept = "last tool result" if self.keep == 1 else f"last {self.keep} tool results"
        return (
            f"policy cache-aware: keep the {kept}, clear when the context passes "
            f"~{self.trigger:,} tokens and at least ~{self.clear_at_least:,} come off; never cleared: {excluded}"
        )


def _policy(value: Any) -> str:
    policy = str(value).strip().lower()
    if policy not in POLICIES:
        raise ValueError(value)
    return policy


def _tool_names(value: Any) -> tuple[str, ...]:
    """A list of names, or their text with commas (an environment variable)."""
    names = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(sorted({str(n).strip() for n in names if str(n).strip()}))


def _setting(name: str, take: Callable[[Any], Any], expected: str) -> Setting:
    return Setting(take, expected, getattr(Settings, name), env=f"AGENTWINTER_CLEANUP_{name.upper()}")


KEYS = {
    "policy": _setting("policy", _policy, f"one of {', '.join(POLICIES)}"),
    **{name: _setting(name, whole_number, "a positive whole number") for name in ("keep", "trigger", "clear_at_least")},
    "exclude_tools": _setting("exclude_tools", _tool_names, "a list of tool names"),
}
