"""A program on a real pseudo-terminal: tests read what it shows and type answers, like a person."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r")
CURSOR_QUERY = b"\x1b[6n"  # prompt_toolkit asks where the cursor is, and waits a moment for the answer


class Terminal:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, rows: int = 50, columns: int = 160) -> None:
        main, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            args,
            stdin=child,
            stdout=child,
            stderr=child,
            env={**env, "TERM": "xterm-256color"},
            cwd=cwd,
            start_new_session=True,
        )
        os.close(child)
        self.main = main
        self.raw = b""
        self.position = 0  # in the plain text: what expect() has already matched

    def plain(self) -> str:
        """Everything shown so far, without colours and cursor movements."""
        return ESCAPES.sub(b"", self.raw).decode("utf-8", errors="replace")

    def expect(self, text: str, timeout: float = 30) -> str:
        """Wait until ``text`` is shown (after what was matched before); the output up to it."""
        deadline = time.monotonic() + timeout
        while (found := self.plain().find(text, self.position)) < 0:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.main], [], [], max(left, 0))
            if not ready:
                raise AssertionError(
                    f"{text!r} not shown within {timeout} s; the screen ended with:\n{self.plain()[-2000:]}"
                )
            try:
                chunk = os.read(self.main, 65536)
            except OSError:  # EIO: the program closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the program ended before showing {text!r}:\n{self.plain()[-2000:]}")
            if CURSOR_QUERY in chunk:
                os.write(self.main, b"\x1b[1;1R")
            self.raw += chunk
        before = self.plain()[self.position : found]
        self.position = found + len(text)
        return before

    def type(self, text: str) -> None:
        os.write(self.main, text.encode())

    def finish(self, timeout: float = 30) -> int:
        """Leave with Ctrl-D at the prompt; the exit code. Reads the rest so the program never blocks."""
        self.type("\x04")
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.main], [], [], 0.1)
            if ready:
                try:
                    self.raw += os.read(self.main, 65536)
                except OSError:
                    break
        code = self.process.wait(timeout=max(deadline - time.monotonic(), 1))
        os.close(self.main)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
