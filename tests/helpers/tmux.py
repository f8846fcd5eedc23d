"""A real terminal for tests: a private tmux server running one command, read back with capture-pane."""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from collections.abc import Sequence


class Tmux:
    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str, rows: int = 24, cols: int = 80) -> None:
        self.socket = f"agentwinter-test-{uuid.uuid4().hex[:8]}"  # a server of our own, never a person's
        assignments = [f"{name}={value}" for name, value in env.items()]
        command = shlex.join(["env", "-i", *assignments, *argv])
        self._tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-c", cwd, command)
        self._tmux("set-option", "-g", "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def screen(self) -> str:
        """Everything the terminal shows and scrolled past, as text, one screen row a line."""
        return self._tmux("capture-pane", "-p", "-S", "-")

    def wait_for(self, text: str, timeout: float = 30.0, count: int = 1) -> str:
        """The screen once ``text`` appears on it ``count`` times (tmux has no way to wait for output)."""
        deadline = time.monotonic() + timeout
        while (screen := self.screen()).count(text) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not on screen:\n{screen}")
            time.sleep(0.05)
        return screen

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
