"""All of agentwinter's benchmarks in one run, side by side and as ratios.

Run: .venv/bin/python -m bench   (no network: a fake Messages API and, if installed, redis-server on loopback;
exits 1 if a goal is missed)

Each section is a function printing its lines and returning the goals it missed; SECTIONS lists them in
order, so a new benchmark is one more function appended there. Timings are medians over several runs:
this machine is shared and drifts by +-15 % from one minute to the next.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import cleanup_cost, query_cpu, sessions_store
from bench.workload import build_session
from tests.helpers import archivers
from tests.helpers.fake_api import FakeAnthropic
from tests.helpers.pty_session import PtySession

PYTHON = sys.executable
AGENTWINTER = str(Path(PYTHON).parent / "agentwinter")
RUNS = 9  # process launches per start-up figure
REPL_RUNS = 3
PROMPT_RUNS = 7
TYPING = 2.5  # seconds a person takes to type a first question
EXIT_GOAL = 300  # ms from Ctrl-D to the shell's prompt


def private_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh user: empty config, data and cache directories."""
    home = Path(tempfile.mkdtemp(prefix="agentwinter-bench-"))
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "AGENTWINTER_ARCHIVE_DIR": str(home / "archive"),
        "AGENTWINTER_CONFIG": str(home / "none.toml"),
        "TERM": "xterm-256color",
        **extra,
    }


def launch_ms(argv: list[str], env: dict[str, str]) -> float:
    """Median wall time of running ``argv`` to its end, in ms (the first run, which may fill caches, apart)."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def section_startup() -> list[str]:
    env = private_env(AGENTWINTER_DISABLE_PLUGINS="")
    floor = launch_ms([PYTHON, "-c", "pass"], env)
    print(f"start-up (median of {RUNS} launches; goal: --version and --help <= 4x python -c pass):")
    print(f"  python -c pass           {floor:7.1f} ms   1.00x")
    missed = []
    for args in (["--version"], ["--help"]):
        took = launch_ms([AGENTWINTER, *args], env)
        ok = took <= 4 * floor
        missed += [] if ok else [f"agentwinter {args[0]} {took / floor:.1f}x"]
        print(f"  agentwinter {args[0]:<12} {took:7.1f} ms {took / floor:6.2f}x" + ("" if ok else "  MISSED"))
    prompts = []
    for _ in range(PROMPT_RUNS):
        with FakeAnthropic() as fake:
            session = PtySession([AGENTWINTER], private_env(**fake.env()))
            prompts.append(session.wait_for("❯") - session.started)
            session.send("\x04")
            session.close()
    prompt = statistics.median(prompts) * 1e3
    print(f"  REPL prompt              {prompt:7.1f} ms {prompt / floor:6.2f}x   ({PROMPT_RUNS} runs; goal: 250 ms)")
    return missed + ([] if prompt <= 250 else [f"REPL prompt {prompt:.0f} ms"])


def first_request_repl(env: dict[str, str], fake: FakeAnthropic, typing: float) -> tuple[float, float]:
    """Enter -> request in ms, for the first query (typed ``typing`` s after the prompt) and the next one."""
    session = PtySession([AGENTWINTER], {**env, **fake.env()})
    try:
        session.wait_for("❯")
        time.sleep(typing)  # the person typing: the SDK loads meanwhile
        found = []
        for query in ("first question", "second question"):
            mark, count = len(session.output), len(fake.requests)
            sent = session.send(query + "\r")
            session.wait_for("⏱", after=mark)
            found.append((fake.requests[count].received - sent) * 1e3)
        session.send("\x04")
        return found[0], found[1]
    finally:
        session.close()


def first_request_print(env: dict[str, str], fake: FakeAnthropic) -> float:
    """Launch -> request of ``agentwinter -p`` in ms."""
    count = len(fake.requests)
    started = time.monotonic()
    subprocess.run([AGENTWINTER, "-p", "hello"], capture_output=True, env={**env, **fake.env()}, timeout=60)
    return (fake.requests[count].received - started) * 1e3


def section_first_request() -> list[str]:
    print(f"Enter -> first request (fake API on loopback, median of {REPL_RUNS}; goal: <= 100 ms):")
    missed = []
    configurations = [("core only", private_env(AGENTWINTER_DISABLE_PLUGINS="sessions"))]
    redis = None
    if shutil.which("redis-server"):
        from tests.helpers.redis_server import RedisServer

        redis = RedisServer().start()
        configurations.append(("with sessions", private_env(AGENTWINTER_REDIS_URL=redis.url())))
    try:
        for name, env in configurations:
            with FakeAnthropic() as fake:
                typed = [first_request_repl(env, fake, TYPING) for _ in range(REPL_RUNS)]
                at_once = statistics.median(first_request_repl(env, fake, 0.0)[0] for _ in range(REPL_RUNS))
                printed = statistics.median(first_request_print(env, fake) for _ in range(REPL_RUNS))
            first, second = (statistics.median(values) for values in zip(*typed, strict=True))
            print(
                f"  {name:<14} REPL first query (typed in {TYPING:.1f} s) {first:6.1f} ms, next {second:5.1f} ms; "
                f"Enter at once {at_once:6.0f} ms; -p launch -> request {printed:5.0f} ms"
            )
            missed += [f"{name}: first query {first:.0f} ms"] if first > 100 else []
            missed += [f"{name}: next query {second:.0f} ms"] if second > 100 else []
    finally:
        if redis is not None:
            redis.stop()
    return missed


def exit_ms(env: dict[str, str]) -> float:
    """Ctrl-D -> shell in ms: a REPL on a pty answers one query, then EOF is typed at its prompt."""
    session = PtySession([AGENTWINTER], env)
    try:
        session.wait_for("❯")
        mark = len(session.output)
        session.send("remember the walrus\r")
        session.wait_for("⏱", after=mark)
        session.wait_for("❯", after=session.output.index("⏱".encode(), mark))  # the prompt after the answer
        sent = session.send("\x04")
        session.process.wait(60)
        return (time.monotonic() - sent) * 1e3
    finally:
        session.close()
        archivers.wait_all(Path(env["AGENTWINTER_ARCHIVE_DIR"]))  # untimed: the next run starts on a quiet machine


def section_archive() -> list[str]:
    """With the [archive] extra: exit and `sessions list` must not wait for LanceDB's ~2 s import."""
    if importlib.util.find_spec("lancedb") is None or not shutil.which("redis-server"):
        print("archive extra: skipped (needs lancedb and redis-server)")
        return []
    from tests.helpers.redis_server import RedisServer

    redis = RedisServer().start()
    # This pty answers no cursor-position request; a terminal does at once, so prompt_toolkit must not wait.
    terminal = {"AGENTWINTER_REDIS_URL": redis.url(), "PROMPT_TOOLKIT_NO_CPR": "1"}
    try:
        with FakeAnthropic() as fake:
            core = private_env(**terminal, **fake.env(), AGENTWINTER_DISABLE_PLUGINS="sessions")
            env = private_env(**terminal, **fake.env())
            floor = statistics.median(exit_ms(core) for _ in range(REPL_RUNS))
            exits = statistics.median(exit_ms(env) for _ in range(REPL_RUNS))
        listing = launch_ms([AGENTWINTER, "sessions", "list"], env)  # the sessions above, archived by now
    finally:
        redis.stop()
    print(f"with the archive extra (LanceDB installed; goal: Ctrl-D -> shell <= {EXIT_GOAL} ms):")
    ratio = exits / floor
    print(f"  Ctrl-D -> shell after a query  {exits:7.1f} ms {ratio:5.2f}x   (REPL on a pty, median of {REPL_RUNS})")
    print(f"  same, sessions plugin off      {floor:7.1f} ms  1.00x   (the core's own exit)")
    print(f"  sessions list                  {listing:7.1f} ms          (median of {RUNS})")
    return [] if exits <= EXIT_GOAL else [f"Ctrl-D -> shell {exits:.0f} ms with the archive extra"]


def section_query_cpu() -> list[str]:
    figures = query_cpu.at_sizes(query_cpu.replay(build_session(query_cpu.TURNS, seed=0)))
    small, large = (figures[size][1] for size in query_cpu.SIZES)
    print("per-query product CPU (repair, cleanup, hooks; goal: <= 1 ms at 200 messages, <= 2x that at 1,000):")
    for size, (raw, seconds) in figures.items():
        print(f"  {size:>5} messages ({raw / 1e3:6,.0f} KB)  {seconds * 1e3:5.2f} ms  {seconds / small:5.2f}x")
    missed = [] if small <= 1e-3 else [f"{small * 1e3:.2f} ms at 200 messages"]
    return missed + ([] if large <= 2 * small else [f"{large / small:.1f}x at 1,000 messages"])


def section_cleanup() -> list[str]:
    print("cleanup token cost, 40-turn workload:")
    return cleanup_cost.seed_table(cleanup_cost.Settings())


def section_sessions_store() -> list[str]:
    """Persistence against the blob floor, round trips, Redis CPU, memory per session, listing at 1k/10k/100k,
    Cluster and Sentinel (``python -m bench.sessions_store`` alone)."""
    return [] if sessions_store.main() == 0 else ["sessions store (its targets are listed above)"]


# The benchmarks, in order. Each prints its lines and returns the goals it missed.
SECTIONS: list[Callable[[], list[str]]] = [
    section_startup,
    section_first_request,
    section_archive,
    section_query_cpu,
    section_cleanup,
    section_sessions_store,
]


def main() -> int:
    missed = []
    for section in SECTIONS:
        missed += section()
        print()
    print("all goals met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
