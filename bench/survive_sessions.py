"""Survival probes of the sessions plugin, with a real redis-server the runner starts (tests/helpers) and the
fake Messages API; rows of ``python -m bench.survive`` (``--quick``: smaller counts).

- Redis killed -9 and restarted, and paused (SIGSTOP/SIGCONT), during piped queries (appendfsync always):
  the queries kept in the session; and the last query's save meeting an outage at exit: spilled, uploaded
  by the next run;
- terminals x queries started at once on one ``--session NAME`` (cold start): every query in the named
  session in order, or in a fork its terminal was told of; one session per name;
- SIGINT while a save or the pre-query touch waits on Redis: the process goes on, the next query is answered;
- corrupt stored data: the kinds of tests/test_corrupt_data.py x every action, in process: tracebacks,
  values set aside.

A SIGINT lands "while saving" when a command of the product sits unread in a paused redis-server's socket
(its receive queue in /proc/net/tcp): the product is then blocked inside a Redis call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.survive import AGENTWINTER, Lab, Row
from tests.helpers import fake_api as fake
from tests.helpers.redis_server import RedisServer

FSYNC = ("--appendonly", "yes", "--appendfsync", "always")  # every acknowledged write is on disk


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def pending(port: int) -> bool:
    """A client's command sits unread in the server's socket: the client is blocked on a paused server."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if int(local.split(":")[1], 16) == port and state == "01" and int(queues.split(":")[1], 16):
            return True
    return False


def texts_of(raw: bytes) -> list[str]:
    from tests.helpers.app import user_texts

    return user_texts(orjson.loads(raw)["messages"])


def sessions_in(redis: RedisServer) -> dict[str, dict[str, Any]]:
    client = redis.client(1)
    found = {}
    for key in client.keys("agentwinter:session:*"):
        document = orjson.loads(client.get(key))
        found[document["id"]] = {"name": document.get("name") or "", "texts": texts_of(client.get(key))}
    return found


class Run:
    """The installed ``agentwinter`` with piped lines, sessions on ``redis``, its output in files."""

    def __init__(
        self, lab: Lab, redis: RedisServer, lines: list[str], *args: str, tag: str = "run", more: bool = False
    ) -> None:
        self.out, self.err = lab.root / f"{tag}.out", lab.root / f"{tag}.err"
        env = lab.env(AGENTWINTER_DISABLE_PLUGINS="", AGENTWINTER_REDIS_URL=redis.url())
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [AGENTWINTER, *args], stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=lab.project
            )
        self.send(lines, more)

    def send(self, lines: list[str], more: bool = False) -> None:
        """Pipe these lines in; stdin stays open for ``more``."""
        assert self.process.stdin
        self.process.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.process.stdin.flush()
        if not more:
            self.process.stdin.close()

    def wait(self) -> tuple[int, str, str]:
        code = self.process.wait(300)
        return code, self.out.read_text(errors="replace"), self.err.read_text(errors="replace")


def answered(lab: Lab) -> int:
    return len(lab.fake.message_requests())


# ---- Redis outages ------------------------------------------------------------------------------------------
def outages(root: Path, queries: int, kills: int, pauses: int) -> list[Row]:
    lab = Lab(root)
    try:
        with RedisServer(extra=FSYNC) as redis:
            return [outage_run(lab, redis, queries, kills, pauses), outage_at_exit(lab, redis)]
    finally:
        lab.fake.stop()


def outage_run(lab: Lab, redis: RedisServer, queries: int, kills: int, pauses: int) -> Row:
    lines = [f"query {number}" for number in range(queries)]
    every = queries // kills
    plan = [(every * i + 1, "kill") for i in range(kills)]
    steps = range(0, kills, kills // pauses)
    plan += [(every * i + every // 2 + 1, "pause" if i % 2 else "short pause") for i in steps]
    started = time.monotonic()
    run = Run(lab, redis, lines, tag="outages")
    done = lambda at: lambda: answered(lab) >= at or run.process.poll() is not None  # noqa: E731
    faults = {"kill": 0, "pause": 0, "short pause": 0}
    for at, fault in sorted(plan):
        if not wait_until(done(at)) or run.process.poll() is not None:
            break
        faults[fault] += 1
        if fault == "kill":  # down while query `at` is answered and saved, up once the next one is asked
            redis.kill()
            wait_until(done(at + 1))
            redis.start()
        elif fault == "pause":  # stopped longer than the client's timeout: the save gives up, catches up later
            os.kill(redis.pid, signal.SIGSTOP)  # type: ignore[arg-type]
            wait_until(done(at + 1))
            os.kill(redis.pid, signal.SIGCONT)  # type: ignore[arg-type]
        else:  # stopped while the product waits on it: the command is answered late
            os.kill(redis.pid, signal.SIGSTOP)  # type: ignore[arg-type]
            wait_until(lambda: pending(redis.port) or run.process.poll() is not None, timeout=10)
            os.kill(redis.pid, signal.SIGCONT)  # type: ignore[arg-type]
    code, _out, err = run.wait()
    stored = sessions_in(redis)
    kept = max((sum(t in set(s["texts"]) for t in lines) for s in stored.values()), default=0)
    in_order = any(s["texts"] == lines for s in stored.values())
    spilled = len(list((lab.root / "data" / "agentwinter" / "unsaved").glob("*.json")))
    waiting = sum("not saved yet" in line for line in err.splitlines())
    ok = in_order and len(stored) == 1 and code == 0 and "Traceback" not in err
    return (
        "sessions: Redis kill -9 / restart / SIGSTOP",
        ok,
        f"{kept}/{queries} kept in order (appendfsync always) through {faults['kill']} kill -9 + restart, "
        f"{faults['pause']} long and {faults['short pause']} short SIGSTOP; {waiting} 'not saved yet' lines, "
        f"spilled {spilled}, exit {code}, {time.monotonic() - started:.0f}s",
    )


def outage_at_exit(lab: Lab, redis: RedisServer) -> Row:
    """The last query's save meets an outage and the process exits: the next run uploads what was kept."""
    redis.client(1).flushdb()
    lab.reset()
    lab.fake.add(fake.text("a1"), fake.text("a2"), fake.text("the last answer", delay=0.1))
    run = Run(lab, redis, ["first", "second", "last"], tag="at-exit")
    wait_until(lambda: answered(lab) >= 3 or run.process.poll() is not None)
    redis.kill()  # while the last answer streams: its save, and the last tries at exit, meet the outage
    code, _out, err = run.wait()
    spill = [line for line in err.splitlines() if "not saved to Redis" in line]
    redis.start()
    lab.fake.add(fake.text("later"))
    _code, _out, later = Run(lab, redis, ["a later run"], tag="at-exit-next").wait()
    uploaded = "⤴ Uploaded" in later
    kept = max((len(s["texts"]) for s in sessions_in(redis).values() if s["texts"][:1] == ["first"]), default=0)
    ok = len(spill) == 1 and uploaded and kept == 3 and "Traceback" not in err + later
    detail = f"spilled at exit: {bool(spill)} (exit {code}); uploaded by the next run: {uploaded}; {kept}/3 kept"
    return ("sessions: last save meets an outage at exit", ok, detail)


# ---- terminals on one name -------------------------------------------------------------------------------
def terminals(root: Path, count: int, queries: int) -> list[Row]:
    lab = Lab(root)
    try:
        with RedisServer() as redis:
            lines = {t: [f"t{t} q{q}" for q in range(queries)] for t in range(count)}
            started = time.monotonic()
            runs = [Run(lab, redis, lines[t], "--session", "shared", tag=f"terminal-{t}") for t in range(count)]
            results = [run.wait() for run in runs]
            took = time.monotonic() - started
            stored = sessions_in(redis)
            names = redis.client(1).hgetall("agentwinter:names")  # fields: owner, a tab, the name
            named = next((v.decode() for k, v in names.items() if k.decode().split("\t")[-1] == "shared"), "")
    finally:
        lab.fake.stop()
    errors = "".join(err for _, _, err in results)
    # A fork starts as a copy of the named session: a query may be in both, but in each session only once.
    every = set().union(*(s["texts"] for s in stored.values()))
    once = every == {line for t in lines for line in lines[t]}
    once = once and all(len(s["texts"]) == len(set(s["texts"])) for s in stored.values())
    ordered = all(
        [x for x in s["texts"] if x.startswith(f"t{t} ")] == [x for x in lines[t] if x in s["texts"]]
        for s in stored.values()
        for t in lines
    )
    forks = {i: s for i, s in stored.items() if i != named and s["texts"]}
    told = sum(f"goes on as {i}" in errors for i in forks)
    derived = all(s["name"].startswith("shared-") for s in forks.values())
    names = [s["name"] for s in stored.values() if s["name"]]
    codes = sorted({code for code, _, _ in results})
    in_named = len(set(stored.get(named, {}).get("texts", [])))
    ok = once and ordered and told == len(forks) and derived and len(names) == len(set(names)) and codes == [0]
    ok = ok and "Traceback" not in errors
    return [
        (
            f"sessions: {count} terminals x {queries} queries on one --session",
            ok,
            f"{len(every)}/{count * queries} kept, in order: {in_named} in the named session, {len(every) - in_named} "
            f"in {len(forks)} forks (their terminals told: {told}/{len(forks)}; names {sorted(names)}); "
            f"exit {codes}, {took:.0f}s",
        )
    ]


# ---- Ctrl-C while Redis is waited on ---------------------------------------------------------------------
def interrupts(root: Path) -> list[Row]:
    lab = Lab(root)
    rows = []
    try:
        with RedisServer() as redis:
            for moment in ("saving", "touching"):
                rows.append(interrupt_at(lab, redis, moment))
    finally:
        lab.fake.stop()
    return rows


def interrupt_at(lab: Lab, redis: RedisServer, moment: str) -> Row:
    redis.client(1).flushdb()
    lab.reset()
    if moment == "saving":  # stopped while the first answer streams: its save waits on Redis
        lab.fake.add(fake.text("first answer", delay=0.1), fake.text("second answer"), fake.text("after it"))
        run = Run(lab, redis, ["one", "two", "three"], tag="sigint-saving")
        wait_until(lambda: answered(lab) >= 1)
    else:  # stopped once the first query is saved, before the second is read: its touch waits on Redis
        lab.fake.add(fake.text("first answer"), fake.text("after it"))
        run = Run(lab, redis, ["one"], tag="sigint-touching", more=True)
        wait_until(lambda: "Session saved" in run.err.read_text(errors="replace"))
    os.kill(redis.pid, signal.SIGSTOP)  # type: ignore[arg-type]
    if moment == "touching":
        run.send(["two"], more=True)
    caught = wait_until(lambda: pending(redis.port), timeout=10)
    run.process.send_signal(signal.SIGINT)
    os.kill(redis.pid, signal.SIGCONT)  # type: ignore[arg-type]
    if moment == "touching":
        run.send(["three"])
    code, out, err = run.wait()
    kept = [s["texts"] for s in sessions_in(redis).values()]
    expected = ["one", "two", "three"] if moment == "saving" else ["one", "three"]  # the touched query is cancelled
    ok = caught and "after it" in out and code in (0, 1) and "Traceback" not in err and kept == [expected]
    said = next((line for line in err.splitlines() if "interrupted" in line), "nothing said")
    return (
        f"sessions: SIGINT while {moment}",
        ok,
        f"caught in the act: {caught}; exit {code}, next query answered: {'after it' in out}; "
        f"kept {kept[0] if kept else []} · {said[:70]}",
    )


# ---- corrupt stored data ------------------------------------------------------------------------------------
def corrupt_data(root: Path) -> list[Row]:
    """Every kind of bad value of tests/test_corrupt_data.py met by every action, in this process (the CLI's
    commands through typer's runner): how many exceptions escaped, how many said more than one error line,
    how many bad values were set aside as they were and named."""
    import pytest

    from tests.helpers.corrupt_data import KINDS
    from tests.helpers.fake_api import FakeAnthropic

    tally = {"actions": 0, "loud": 0, "kept": 0, "expected": 0, "escaped": []}
    with FakeAnthropic() as api, RedisServer() as redis, pytest.MonkeyPatch.context() as patch:
        for name, value in {"XDG_DATA_HOME": "data", "XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache"}.items():
            patch.setenv(name, str(root / value))
        patch.setenv("AGENTWINTER_ARCHIVE_DIR", str(root / "archive"))
        patch.delenv("AGENTWINTER_SESSION_KEY", raising=False)
        for number, kind in enumerate(KINDS):
            redis.client(1).flushall()
            one_kind(kind, api, redis, root / f"kind-{number}", patch, tally)
    escaped = tally["escaped"]
    ok = not escaped and not tally["loud"] and tally["kept"] == tally["expected"]
    detail = f"{len(KINDS)} kinds x {tally['actions'] // len(KINDS)} actions = {tally['actions']}: "
    detail += f"{len(escaped)} tracebacks, {tally['loud']} with more than one error line; "
    detail += f"{tally['kept']}/{tally['expected']} bad values kept aside as they were, and named"
    return [("sessions: corrupt stored data", ok, detail + (f" · {escaped[:3]}" if escaped else ""))]


def one_kind(kind: str, api: Any, redis: RedisServer, root: Path, patch: Any, tally: dict[str, Any]) -> None:
    from agentwinter_sessions import tracker

    from agentwinter_core.query import run_command, run_query
    from tests.helpers.app import err, make_app, out, project_env
    from tests.helpers.corrupt_data import DERIVED, KINDS, damage, key_of, opened_in_another_terminal, sessions

    family, how = KINDS[kind]
    root.mkdir(parents=True)
    env = project_env(api, redis, root, patch)
    patch.chdir(env)
    app, agent = make_app(env, session="kept")
    run_query(app, agent, "q1")
    session_id, client = tracker(app).state.id, redis.client(1)
    key = key_of(family, session_id, str(env))
    damage(client, key, how)
    bad, said = client.dump(key), []

    def act(what: str, action: Callable[[], str]) -> None:
        tally["actions"] += 1
        try:
            text = action()
        except Exception as exc:  # what the person would have seen as a traceback
            tally["escaped"].append(f"{kind} / {what}: {type(exc).__name__}")
            return
        said.append(text)
        tally["loud"] += sum(line.startswith("error:") for line in text.splitlines()) > 1 or "Traceback" in text

    def running() -> str:
        run_query(app, agent, "q2")
        run_command(app, "!sessions")
        return err(app) + out(app)

    def command(*args: str) -> Callable[[], str]:
        def invoke() -> str:
            result = sessions(*args)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            return result.output

        return invoke

    def opened(**options: Any) -> Callable[[], str]:
        def invoke() -> str:
            line, other = opened_in_another_terminal(env, **options)
            return line + err(other)

        return invoke

    act("a running process", running)
    for args in (("list",), ("list", "--all"), ("show", session_id), ("export", session_id), ("search", "q1")):
        act(f"sessions {args[0]}", command(*args))
    for options in ({"resume": session_id}, {"session": "kept"}, {"cont": True}):
        act(f"--{next(iter(options))}", opened(**options))
    act("sessions rm", command("rm", session_id))
    if kind not in DERIVED:
        tally["expected"] += 1
        copies = [k for k in client.keys("agentwinter:quarantine:*") if client.dump(k) == bad]
        tally["kept"] += len(copies) == 1 and copies[0].decode() in "".join(said)


def shared_redis(root: Path) -> list[Row]:
    """Bob's session on the Redis alice uses too: of 7 views, how many show or open it for her."""
    with RedisServer() as redis:
        lab = Lab(root)
        try:
            users = {
                name: {"LOGNAME": name, "USER": name, "AGENTWINTER_DISABLE_PLUGINS": ""} for name in ("alice", "bob")
            }
            lab.fake.add(fake.text("noted"))
            made = lab.run(
                "bob's secret plan\n", "--session", "plans", AGENTWINTER_REDIS_URL=redis.url(), **users["bob"]
            )
            bob = next(iter(sessions_in(redis)), "")
            alice = {"AGENTWINTER_REDIS_URL": redis.url(), **users["alice"]}
            lab.fake.add(fake.text("hers"), fake.text("hers"))
            views = {
                "!sessions": lab.run("!sessions\n", **alice).stdout,
                "sessions list": lab.run("", "sessions", "list", **alice).stdout,
                "list --all": lab.run("", "sessions", "list", "--all", **alice).stdout,
                "show": lab.run("", "sessions", "show", bob, **alice).stdout,
                "export": lab.run("", "sessions", "export", bob, **alice).stdout,
                "--resume": lab.run("", "--resume", bob, "-p", "and?", **alice).stderr,
                "--session NAME": lab.run("", "--session", "plans", "-p", "mine?", **alice).stderr,
            }
            shown = [name for name, text in views.items() if bob and (bob in text and "belongs to" not in text)]
            everyone = lab.run("", "sessions", "list", "--all", "--all-users", **alice).stdout
            whose = "bob@" in everyone and bob in everyone
        finally:
            lab.fake.stop()
    ok = made.returncode == 0 and bool(bob) and not shown and whose
    detail = f"{len(shown)} of {len(views)} views show or open another user's session {shown or ''}; "
    detail += f"--all-users lists it as bob's: {whose}"
    return [("sessions: shared Redis, another user's session", ok, detail)]


def rows(root: Path, quick: bool = False) -> list[Row]:
    queries, kills, pauses, count, per = (30, 6, 2, 4, 10) if quick else (100, 20, 4, 8, 50)
    found = outages(root / "outages", queries, kills, pauses)
    found += terminals(root / "terminals", count, per)
    found += interrupts(root / "interrupts")
    found += corrupt_data(root / "corrupt")
    found += shared_redis(root / "shared")
    return found
