"""Cleanup token-cost benchmark: what each policy costs in billed input tokens with prompt caching.

Run: .venv/bin/python -m bench.cleanup_cost   (no network, no Redis; exits 1 if a goal is missed)

Replays the standard 40-turn session (bench/workload.py, the sessions benchmark's workload) as agentwinter
sends it: every tool round of a turn is one request carrying the whole history so far; after each turn the
policy cleans the history that the next turn starts from. Per request, from the exact bytes sent:
  - tokens: bytes / 4 per block (system prompt and tool schemas, then each message), the same for all policies;
  - cache: a top-level cache_control caches each request up to its last block, so a request reads from the
    cache the longest earlier request that is a byte-identical prefix of it (0.1x) and writes the rest (1.25x);
    prefixes under the model minimum (1,024 tokens) are not cached and bill at 1x; the turns are assumed to
    come within the cache TTL (5 minutes, refreshed on every hit);
  - a turn hits the cache when its first request reads the whole of the previous request (nothing rewritten);
    turns after a request too small to cache are not counted;
  - peak context: the largest request.
Goal, on each of the workload's six seeds: cache-aware <= 0.5x the original policy's cost, >= 92 % of its
turns hitting the cache, and a peak context no more than 1.5x the original's.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentwinter_cleanup import policies
from agentwinter_cleanup.settings import Settings

from agentwinter_core.agent import SYSTEM_PROMPT
from agentwinter_core.project_tools import builtin_tools
from bench.workload import build_session

Message = dict[str, Any]
Policy = Callable[[list[Message]], list[Message]]
MIN_CACHEABLE = 1024  # tokens; below this nothing is cached (Sonnet-class models)
READ, WRITE = 0.1, 1.25


def tokens(data: bytes) -> int:
    return -(-len(data) // 4)


def prefix_bytes() -> bytes:
    """What comes before the messages in every request: the tool schemas and the system prompt."""
    tools = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in builtin_tools(False)
    ]
    return json.dumps({"tools": tools, "system": SYSTEM_PROMPT}, sort_keys=True).encode()


@dataclass
class Result:
    name: str
    billed: float = 0.0
    read: int = 0
    written: int = 0
    uncached: int = 0
    peak: int = 0
    turns: int = 0
    turn_hits: int = 0
    requests: int = 0


class Cache:
    """Prefixes cached so far, keyed by a running hash at each message boundary."""

    def __init__(self) -> None:
        self.entries: set[str] = set()
        self.last_end: str | None = None  # the previous request's full prefix, when it was cached

    def send(self, blocks: list[bytes], result: Result, first_of_turn: bool) -> None:
        running, boundaries, sizes = hashlib.sha256(), [], []
        size = 0
        for block in blocks:
            running.update(hashlib.sha256(block).digest())
            size += tokens(block)
            boundaries.append(running.hexdigest())
            sizes.append(size)
        total = sizes[-1]
        read = next((sizes[i] for i in range(len(blocks) - 1, -1, -1) if boundaries[i] in self.entries), 0)
        if first_of_turn and self.last_end is not None:
            result.turns += 1
            result.turn_hits += self.last_end in boundaries and sizes[boundaries.index(self.last_end)] <= read
        if total >= MIN_CACHEABLE:
            result.read += read
            result.written += total - read
            result.billed += READ * read + WRITE * (total - read)
            self.entries.add(boundaries[-1])
        else:
            result.uncached += total
            result.billed += total
        result.peak = max(result.peak, total)
        result.requests += 1
        self.last_end = boundaries[-1] if total >= MIN_CACHEABLE else None


def replay(name: str, policy: Policy, turns: list[list[Message]]) -> Result:
    result, cache, head = Result(name), Cache(), prefix_bytes()
    history: list[Message] = []
    for turn in turns:
        # Requests go out before each assistant message: the query, then after each round of tool results.
        for end, message in enumerate(turn):
            if message["role"] == "assistant":
                sent = [*history, *turn[:end]]
                blocks = [head, *(json.dumps(m, sort_keys=True, separators=(",", ":")).encode() for m in sent)]
                cache.send(blocks, result, first_of_turn=not any(m["role"] == "assistant" for m in turn[:end]))
        history = policy([*history, *turn])
    return result


GOALS = "cost <= 0.5x original, >= 92 % of turns hitting the cache, peak <= 1.5x original"
SEEDS = range(6)


def seed_rows(seed: int, settings: Settings) -> list[Result]:
    turns = build_session(40, seed=seed)
    return [
        replay("none", lambda messages: messages, turns),
        replay("original", lambda messages: policies.original(messages).messages, turns),
        replay("cache-aware", lambda messages: policies.cache_aware(messages, settings).messages, turns),
    ]


def missed(base: Result, ours: Result) -> list[str]:
    return [
        goal
        for goal, ok in (
            ("cost", ours.billed <= 0.5 * base.billed),
            ("hits", ours.turn_hits >= 0.92 * ours.turns),
            ("peak", ours.peak <= 1.5 * base.peak),
        )
        if not ok
    ]


def main() -> int:
    settings = Settings()
    rows = seed_rows(0, settings)
    base = rows[1]
    print(f"40-turn workload, {rows[0].requests} requests; cache-aware defaults: {settings.describe()}")
    header = f"{'policy':<12}{'billed input':>14}{'x orig':>8}{'cache read':>12}{'cache write':>13}{'peak ctx':>10}"
    print(header + f"{'x orig':>8}{'turns hitting cache':>22}")
    for row in rows:
        share = row.turn_hits / row.turns
        print(
            f"{row.name:<12}{row.billed:>14,.0f}{row.billed / base.billed:>8.2f}{row.read:>12,}{row.written:>13,}"
            f"{row.peak:>10,}{row.peak / base.peak:>8.2f}{f'{row.turn_hits}/{row.turns} ({share:.0%})':>22}"
        )
    return 1 if seed_table(settings, first=rows) else 0


def seed_table(settings: Settings, first: list[Result] | None = None) -> list[str]:
    """Cache-aware against the original on every seed; returns the seeds that miss a goal."""
    print(f"every seed (cache-aware vs original; goals: {GOALS}):")
    failures = []
    for seed in SEEDS:
        _, base, ours = first if seed == 0 and first else seed_rows(seed, settings)
        miss = missed(base, ours)
        failures += [f"seed {seed}: {', '.join(miss)}"] if miss else []
        print(
            f"  seed {seed}: {ours.billed / base.billed:.2f}x cost, {ours.turn_hits}/{ours.turns} "
            f"({ours.turn_hits / ours.turns:.0%}) hits, {ours.peak / base.peak:.2f}x peak"
            + (f"  MISSED: {', '.join(miss)}" if miss else "")
        )
    print("goals: " + ("all met on every seed" if not failures else "MISSED on " + "; ".join(failures)))
    return failures


if __name__ == "__main__":
    sys.exit(main())
