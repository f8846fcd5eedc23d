"""How cleanup behaves: config file ``[cleanup]`` < environment ``AGENTWINTER_CLEANUP_*``."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentwinter_core.config import positive_int

POLICIES = ("cache-aware", "original", "off")
NAMES = ("policy", "keep", "trigger", "clear_at_least", "exclude_tools")


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
    def load(cls, table: dict[str, Any], warn: Callable[[str], None]) -> Settings:
        raw = {name: table[name] for name in NAMES if name in table}
        for name in NAMES:
            if (value := os.environ.get(f"AGENTWINTER_CLEANUP_{name.upper()}")) is not None:
                raw[name] = value
        values: dict[str, Any] = {}
        if "policy" in raw:
            policy = str(raw["policy"]).strip().lower()
            if policy in POLICIES:
                values["policy"] = policy
            else:
                warn(f"cleanup: policy must be one of {', '.join(POLICIES)}, not {raw['policy']!r}; using cache-aware")
        for name in ("keep", "trigger", "clear_at_least"):
            if name in raw:
                values[name] = positive_int(raw[name], f"cleanup: {name}", getattr(cls, name), warn)
        if "exclude_tools" in raw:
            tools = raw["exclude_tools"]
            names = tools.split(",") if isinstance(tools, str) else tools if isinstance(tools, list) else []
            values["exclude_tools"] = tuple(sorted({str(n).strip() for n in names if str(n).strip()}))
        return cls(**values)

    def describe(self) -> str:
        if self.policy != "cache-aware":
            return f"policy {self.policy}"
        excluded = ", ".join(self.exclude_tools) or "none"
        kept = "last tool result" if self.keep == 1 else f"last {self.keep} tool results"
        return (
            f"policy cache-aware: keep the {kept}, clear when the context passes "
            f"~{self.trigger:,} tokens and at least ~{self.clear_at_least:,} come off; never cleared: {excluded}"
        )
