"""Everything agentwinter shows a person, and where it goes.

stdout carries answers and command output only; in piped mode indicators, tool lines and timings
go to stderr so scripts can read answers cleanly. In a terminal answers render as markdown.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from agentwinter_core.redact import redact


class UI:
    def __init__(self, interactive: bool, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.interactive = interactive
        # soft_wrap: one-line messages stay one line, whatever the terminal width.
        self.out = Console(file=out or sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=err or sys.stderr, highlight=False, soft_wrap=True)
        # Indicators ("Session saved") belong to the person: stdout in a terminal, stderr when piped.
        self.status_console = self.out if interactive else self.err
        # Asked once: rich's is_terminal reads several environment variables on every call.
        self._styled = {id(self.out): self.out.is_terminal, id(self.err): self.err.is_terminal}
        self._live: Any = None
        self._answer = ""

    # one-line messages -------------------------------------------------------------------------
    def info(self, message: str) -> None:
        self._line(self.status_console, message, "dim" if self.interactive else "")

    # Warnings and errors often quote URLs and exception text: secrets are masked in them, whoever wrote them.
    def warn(self, message: str) -> None:
        self._line(self.err, f"warning: {redact(message)}", "yellow")

    def error(self, message: str) -> None:
        self._line(self.err, f"error: {redact(message)}", "bold red")

    def _line(self, console: Console, message: str, style: str) -> None:
        if self._styled[id(console)]:
            console.print(Text(message, style=style))
        else:  # no styling to do: skip rich's renderer, which costs more than a Redis round trip
            console.file.write(message + "\n")
            console.file.flush()

    def output(self, text: str) -> None:
        """Command output (markdown): rendered in a terminal, plain when piped."""
        if self.interactive:
            self.out.print(Markdown(text))
        else:
            self.out.file.write(text.rstrip("\n") + "\n")
            self.out.file.flush()

    # a streamed answer ---------------------------------------------------------------------------
    def answer_start(self) -> None:
        self._answer = ""
        if self.interactive:
            from rich.live import Live

            self._live = Live(console=self.out, refresh_per_second=10, vertical_overflow="visible")
            self._live.start()

    def answer_text(self, chunk: str) -> None:
        self._answer += chunk
        if self._live is not None:
            self._live.update(Markdown(self._answer))
        else:
            self.out.file.write(chunk)
            self.out.file.flush()

    def answer_end(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self._answer and not self._answer.endswith("\n"):
            self.out.file.write("\n")
            self.out.file.flush()

    # tools and timing ----------------------------------------------------------------------------
    @contextmanager
    def tool_running(self, name: str, summary: str) -> Iterator[None]:
        """A spinner while the tool runs, then one dim line saying what ran and how long it took."""
        label = f"{name} {summary}".strip()
        started = time.perf_counter()
        if self.interactive:
            with self.out.status(Text(label, style="dim"), spinner="dots"):
                yield
        else:
            yield
        took = time.perf_counter() - started
        self.status_console.print(Text(f"  ⚙ {label} · {took:.2f}s", style="dim"))

    def timing(self, seconds: float, usage: Any) -> None:
        line = (
            f"⏱ {seconds:.1f}s · {usage.input_tokens:,} in · {usage.output_tokens:,} out · "
            f"cache {usage.cache_read_input_tokens:,} read / {usage.cache_creation_input_tokens:,} written"
        )
        self.status_console.print(Text(line, style="dim"))

    def confirm(self, question: str) -> bool:
        """Ask yes/no at the terminal; anything but y/yes is no, and so is a non-terminal."""
        if not self.interactive:
            return False
        try:
            answer = self.out.input(Text(f"{question} [y/N] ", style="bold"))
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")
