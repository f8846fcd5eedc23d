"""agentwinter in a real pseudo-terminal: what a person at a terminal would see, with timestamps."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence


class PtySession:
    """A child process on a pty of ``rows`` x ``cols``; a thread records everything it writes."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cwd: str | None = None, rows: int = 24, cols: int = 80
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.output = b""
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                data = b""
            with self._changed:
                self.output += data
                self._closed = not data
                self._changed.notify_all()
            if not data:
                return

    def wait_for(self, text: str, timeout: float = 30.0, after: int = 0) -> float:
        """The monotonic time at which ``text`` was first seen in the output past byte ``after``."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in self.output[after:]:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"{text!r} not seen; got {self.output[-400:]!r}")
                self._changed.wait(left)
            return time.monotonic()

    def send(self, text: str) -> float:
        """Type ``text``; returns when it was written."""
        os.write(self.master, text.encode())
        return time.monotonic()

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(30)
        self._reader.join(5)
        os.close(self.master)
        return code
