"""Per-query product CPU: what agentwinter itself spends on a query, model and network aside, by session size.

Run: .venv/bin/python -m bench.query_cpu

Replays a long standard workload (bench/workload.py) through the real ``run_query`` with the cleanup plugin
and a stand-in agent that appends the turn's messages (no SDK, no network). A small in-memory plugin keeps
the history between queries, as the sessions plugin does minus Redis. Timed: the whole ``run_query`` minus
the stand-in's own time, i.e. the hooks, ``history.repair``, cleanup (token estimate and clearing), the report.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agentwinter_core import hookimpl
from agentwinter_core.agent import Outcome
from agentwinter_core.app import build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_query
from agentwinter_core.state import App
from agentwinter_core.ui import UI
from bench.workload import build_session, dump

SIZES = (200, 1000)  # messages
TURNS = 185  # enough for 1,000 messages


class Memory:
    """Keeps the history in memory between queries (what sessions does with Redis)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    @hookimpl
    def before_query(self, app: App) -> None:
        app.conversation.messages = self.messages

    @hookimpl
    def after_response(self, app: App) -> None:
        self.messages = app.conversation.messages


class StandIn:
    """The agent, minus the model: the turn's replies and tool results join the history."""

    def __init__(self, turns: list[list[dict[str, Any]]]) -> None:
        self.turns = iter(turns)
        self.seconds = 0.0

    def answer(self, messages: list[dict[str, Any]]) -> Outcome:
        started = time.perf_counter()
        messages.extend(next(self.turns)[1:])  # the query itself is appended by run_query
        self.seconds += time.perf_counter() - started
        return Outcome(replies=1)


def replay(turns: list[list[dict[str, Any]]]) -> list[tuple[int, int, float]]:
    """(messages, bytes before cleanup, product seconds) per query."""
    os.environ["AGENTWINTER_CONFIG"] = str(Path(tempfile.mkdtemp()) / "none.toml")
    pm = build_plugin_manager(disabled={"sessions"})
    memory = Memory()
    pm.register(memory, name="bench-memory")
    app = build_app(pm, interactive=False, project_dir=Path(tempfile.mkdtemp()))
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    agent = StandIn(turns)
    rows, raw = [], 0
    for turn in turns:
        raw += len(dump(turn))
        before = agent.seconds
        started = time.perf_counter()
        run_query(app, agent, turn[0]["content"][0]["text"])  # type: ignore[arg-type]
        rows.append((len(memory.messages), raw, time.perf_counter() - started - (agent.seconds - before)))
    return rows


def at_sizes(rows: list[tuple[int, int, float]]) -> dict[int, tuple[int, float]]:
    """Per size: the workload's bytes there and the median product time of the queries around it."""
    found = {}
    for size in SIZES:
        near = [row for row in rows if abs(row[0] - size) <= size * 0.1]
        found[size] = (near[len(near) // 2][1], statistics.median(row[2] for row in near))
    return found


def main() -> None:
    figures = at_sizes(replay(build_session(TURNS, seed=0)))
    base = figures[SIZES[0]][1]
    for size, (raw, seconds) in figures.items():
        print(f"  {size:>5} messages ({raw / 1e3:,.0f} KB): {seconds * 1e3:.2f} ms per query ({seconds / base:.2f}x)")


if __name__ == "__main__":
    main()
