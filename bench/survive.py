"""Survival probes of the core, black-box: the installed ``agentwinter`` against a fault-injecting fake
Messages API on loopback (tests/helpers/fake_api.py). Not part of the test suite; the tests keep a short
version of each probe.

Run: .venv/bin/python -m bench.survive [--quick]   (no network; starts its own redis-servers; exits 1 if a
probe fails; --quick: smaller counts for the sessions probes)

Rows: API faults (HTTP errors, an error event, a cut connection, malformed streams, stalls), Ctrl-C while
streaming, twice while streaming and in a tool, hostile tool input, escape attempts from a project inside a
larger git repository, planted secrets, and broken configuration; then the sessions probes
(bench/survive_sessions.py): Redis outages, terminals on one name, Ctrl-C while Redis is waited on, corrupt
stored data. Each row: what was tried, what happened.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import fake_api as fake
from tests.helpers import gitrepo
from tests.helpers.fake_api import FakeAnthropic

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")
IDLE = 2  # stream_idle_timeout for the stall probes, seconds
Row = tuple[str, bool, str]  # probe, passed, what happened


class Lab:
    """A fake API, a scratch project and a config file, and a way to run the CLI against them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        (self.project / "app.py").write_text("FEATURES = ['search']\n")
        self.config = root / "config.toml"
        self.config.write_text(f"[agentwinter]\nstream_idle_timeout = {IDLE}\n")
        self.fake = FakeAnthropic().start()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
        env.update(self.fake.env(), AGENTWINTER_CONFIG=str(self.config), AGENTWINTER_DISABLE_PLUGINS="sessions")
        env.update(XDG_DATA_HOME=str(self.root / "data"), XDG_CONFIG_HOME=str(self.root / "xdg"), **extra)
        return env

    def run(self, stdin: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AGENTWINTER, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(**extra),
            cwd=self.project,
            timeout=120,
        )

    def reset(self) -> None:
        self.fake.requests.clear()
        self.fake.violations.clear()
        self.fake.replies.clear()
        self.fake.clear_failure()


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    return errors[0] if len(errors) == 1 and "Traceback" not in done.stderr else ""


def api_faults(lab: Lab) -> list[Row]:
    kinds: dict[str, Callable[[], list[fake.Reply]]] = {
        "529 overloaded": lambda: [fake.error(529, "overloaded_error")] * 3,
        "500 internal": lambda: [fake.error(500, "api_error")] * 3,
        "429 rate limit": lambda: [fake.error(429, "rate_limit_error")] * 3,
        "401 bad key": lambda: [fake.error(401, "authentication_error")],
        "400 bad request": lambda: [fake.error(400, "invalid_request_error")],
        "error event mid-stream": lambda: [fake.stream_error()],
        **{
            f"stream: {kind}": (lambda kind=kind: [fake.faulty(kind, stall=30)] * (3 if kind == "stall_headers" else 1))
            for kind in fake.FAULTS
            if kind != "bad_tool_json"
        },
    }
    rows = []
    for name, replies in kinds.items():
        lab.reset()
        lab.fake.add(fake.text("first"), *replies(), fake.text("after the fault"))
        started = time.perf_counter()
        done = lab.run("one\ntwo\nthree\n")
        took = time.perf_counter() - started
        line = one_error_line(done)
        ok = bool(line) and "after the fault" in done.stdout and done.returncode == 1 and not lab.fake.violations
        said = line[:110] or done.stderr[-200:]
        rows.append((f"API fault: {name}", ok, f"{took:.1f}s exit {done.returncode} · {said}"))
    return rows


def piped(lab: Lab, argv: list[str], lines: bytes) -> subprocess.Popen[bytes]:
    """The installed command with ``lines`` piped in (stdin closed after them), its output piped out."""
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lab.env(), cwd=lab.project
    )
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(lines)
    process.stdin.close()
    return process


def interrupts(lab: Lab) -> list[Row]:
    rows = []
    for name, signals in (("Ctrl-C while streaming", 1), ("Ctrl-C twice while streaming", 2)):
        lab.reset()
        lab.fake.add(fake.text("a long answer " * 60, delay=0.05), fake.text("the next answer"))
        process = piped(lab, [AGENTWINTER], b"story\nnext\n")
        select.select([process.stdout], [], [], 30)
        first = os.read(process.stdout.fileno(), 100)
        for _ in range(signals):
            process.send_signal(signal.SIGINT)
        out, err = first + process.stdout.read(), process.stderr.read()
        process.wait(60)
        ok = b"the next answer" in out and b"Traceback" not in err and process.returncode == 1
        rows.append((name, ok, f"exit {process.returncode}, next query answered: {b'the next answer' in out}"))
    lab.reset()
    lab.fake.add(fake.tool_use("shell", {"command": "sleep 30"}), fake.text("the next answer"))
    process = piped(lab, [AGENTWINTER, "--allow-shell"], b"run it\nnext\n")
    while len(lab.fake.message_requests()) < 1:
        time.sleep(0.05)
    time.sleep(1.0)  # the reply has been streamed and the tool started
    process.send_signal(signal.SIGINT)
    out, err = process.stdout.read(), process.stderr.read()
    process.wait(60)
    ok = b"the next answer" in out and b"Traceback" not in err
    answered = b"the next answer" in out
    rows.append(("Ctrl-C in a tool", ok, f"exit {process.returncode}, next query answered: {answered}"))
    return rows


def tool_input(lab: Lab) -> list[Row]:
    project = lab.project
    os.mkfifo(project / "pipe")
    (project / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"needle\n")
    (project / "latin1.txt").write_bytes("needle Gr\xfc\xdfe\n".encode("latin-1"))
    (project / "utf16.txt").write_text("needle", encoding="utf-16")
    (project / "blob.bin").write_bytes(bytes(range(256)) * 40)
    (project / "big.txt").write_text("needle line\n" * 900_000)
    (project / "one-line.txt").write_text("a" * 10_000_000)
    many = project / "many"
    many.mkdir()
    for number in range(5000):
        (many / f"f{number}.txt").write_text("x\n")
    calls = [
        ("list_files FIFO", "list_files", {}),
        ("read_file FIFO", "read_file", {"path": "pipe"}),
        ("search with a FIFO", "search", {"pattern": "needle", "glob": "pipe"}),
        ("catastrophic regex", "search", {"pattern": "(a+)+$", "path": "one-line.txt"}),
        ("non-UTF-8 name: list", "list_files", {"pattern": "caf*"}),
        ("non-UTF-8 name: search", "search", {"pattern": "needle", "glob": "caf*"}),
        ("latin-1 content", "read_file", {"path": "latin1.txt"}),
        ("UTF-16 content", "read_file", {"path": "utf16.txt"}),
        ("binary file", "read_file", {"path": "blob.bin"}),
        ("10 MB file: read", "read_file", {"path": "big.txt"}),
        ("10 MB file: search", "search", {"pattern": "needle", "path": "big.txt"}),
        ("10 MB single line", "read_file", {"path": "one-line.txt"}),
        ("10 MB single line, piece 2", "read_file", {"path": "one-line.txt", "start_column": 100_001}),
        ("5,000 files", "list_files", {"path": "many"}),
    ]
    lab.reset()
    lab.fake.add(fake.tool_uses([(tool, data) for _, tool, data in calls]), fake.text("done"), fake.text("later"))
    started = time.perf_counter()
    done = lab.run("probe\nand a later query\n")
    took = time.perf_counter() - started
    requests = lab.fake.message_requests()
    results = requests[1]["messages"][-1]["content"] if len(requests) > 1 else []
    rows = []
    for (name, _, _), result in zip(calls, results, strict=False):
        content = str(result["content"])
        rows.append((f"tool input: {name}", len(content) <= 110_000, f"{len(content):,} chars · {content[:70]!r}"))
    later_ok = "later" in done.stdout and done.returncode == 0 and not lab.fake.violations
    rows.append(("tool input: a later query still works", later_ok, f"{took:.1f}s for all 14, exit {done.returncode}"))
    return rows


def confinement(root: Path) -> list[Row]:
    from tests.test_confinement import SECRET, attempts

    root.mkdir(parents=True)
    os.environ.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_CEILING_DIRECTORIES=str(root))
    repo = gitrepo.init(root / "outer")
    gitrepo.commit(repo, "start", **{"secret.txt": SECRET + "\n", "project/app.py": "print('hi')\n"})
    gitrepo.commit(repo, "tweak", **{"secret.txt": SECRET + " v2\n"})
    gitrepo.commit(repo, "work", **{"project/app.py": "print('hello')\n"})
    (repo / "project" / "link_out").symlink_to(repo / "secret.txt")
    (repo / "project" / "link_dir").symlink_to(repo)
    (repo / "project" / "sub").mkdir()
    escapes, confined = attempts(repo)
    lab = Lab(root / "lab")
    lab.project = repo / "project"
    lab.fake.add(fake.tool_uses(escapes + confined), fake.text("done"))
    lab.run("find the secret\n")
    results = lab.fake.message_requests()[1]["messages"][-1]["content"]
    refused = sum(bool(r.get("is_error")) for r in results[: len(escapes)])
    leaked = SECRET in json.dumps(lab.fake.message_requests())
    lab.fake.stop()
    return [
        ("confinement: escape attempts refused", refused == len(escapes), f"{refused}/{len(escapes)}"),
        ("confinement: secret in a request", not leaked, f"{'LEAKED' if leaked else 'never'} (+{len(confined)} views)"),
    ]


def secrets_and_config(lab: Lab) -> list[Row]:
    key, proxy, redis_pw, token = "sk-ant-PLANTED-key-1", "PLANTED-proxy-2", "PLANTED-redis-3", "PLANTED-token-4"
    lab.reset()
    lab.fake.api_key = key
    lab.config.write_text("[agentwinter]\nallow_shell = true\n")
    lab.fake.add(fake.tool_use("shell", {"command": "env; echo key=$ANTHROPIC_API_KEY"}), fake.text("done"))
    redis_url = f"redis://:{redis_pw}@127.0.0.1:9/0?password={redis_pw}"
    done = lab.run("env\n", ANTHROPIC_API_KEY=key, AGENTWINTER_REDIS_URL=redis_url, GITHUB_TOKEN=token)
    down = lab.run("hi\n", ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=f"http://u:{proxy}@127.0.0.1:9")
    seen = done.stdout + done.stderr + down.stdout + down.stderr + json.dumps(lab.fake.message_requests())
    found = [s for s in (key, proxy, redis_pw, token) if s in seen]
    rows = [("secrets in output, errors and requests", not found, f"planted 4, found {len(found)}")]
    lab.config.write_text('[agentwinter]\nallow_shell = "false"\n')
    lab.reset()
    lab.fake.add(fake.text("ok"))
    done = lab.run("hi\n", ANTHROPIC_API_KEY=key)
    offered = "shell" in {t["name"] for t in lab.fake.message_requests()[0]["tools"]}
    first_line = done.stderr.splitlines()[0][-90:]
    rows.append(('config allow_shell = "false"', not offered, f"shell offered: {offered} · {first_line}"))
    for name, write in (
        ("config not UTF-8", lambda: lab.config.write_bytes(b'[agentwinter]\nmodel = "caf\xe9"\n')),
        ("config is a directory", lambda: (lab.config.unlink(), lab.config.mkdir())),
    ):
        write()
        lab.reset()
        lab.fake.add(fake.text("ok"))
        done = lab.run("hi\n", ANTHROPIC_API_KEY=key)
        warning = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
        rows.append((name, done.stdout == "ok\n" and len(warning) == 1, (warning or ["no warning"])[0][-90:]))
    return rows


def main() -> int:
    from bench import survive_sessions

    quick = sys.argv[1:] == ["--quick"]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lab = Lab(root / "main")
        try:
            rows += api_faults(lab)
            rows += interrupts(lab)
            rows += tool_input(lab)
            rows += secrets_and_config(lab)
        finally:
            lab.fake.stop()
        rows += confinement(root / "git")
        rows += survive_sessions.rows(root / "sessions", quick)
    width = max(len(name) for name, _, _ in rows)
    for name, ok, detail in rows:
        print(f"{'ok  ' if ok else 'FAIL'}  {name.ljust(width)}  {detail}")
    failed = sum(not ok for _, ok, _ in rows)
    print(f"\n{len(rows) - failed}/{len(rows)} probes passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
