"""Everything agentwinter shows a person, and where it goes.

stdout carries answers and command output only; in piped mode indicators, tool lines and timings
go to stderr so scripts can read answers cleanly. In a terminal answers render as markdown.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from agentwinter_core.redact import redact

CANCEL_KEY = "Ctrl-C"


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
        self._stream: _StreamedAnswer | None = None
        self._status: Any = None  # the spinner of the running tool, paused while it asks something
        self._answer = ""
        self._closed: set[int] = set()  # consoles whose reader went away (``| head``)

    # one-line messages -------------------------------------------------------------------------
    def info(self, message: str) -> None:
        self._line(self.status_console, message, "dim" if self.interactive else "")

    # Warnings and errors often quote URLs and exception text: secrets are masked in them, whoever wrote them.
    def warn(self, message: str) -> None:
        # one marker: "warning:" already says it, so a plugin's own ⚠ goes
        self._line(self.err, f"warning: {redact(message.removeprefix('⚠').lstrip())}", "yellow")

    def error(self, message: str) -> None:
        self._line(self.err, f"error: {redact(message)}", "bold red")

    def _line(self, console: Console, message: str, style: str) -> None:
        if self._styled[id(console)]:
            console.print(Text(message, style=style))
        else:  # no styling to do: skip rich's renderer, which costs more than a Redis round trip
            self._write(message + "\n", console)

    def output(self, text: str) -> None:
        """Command output (markdown): rendered in a terminal, plain when piped."""
        if self.interactive:
            from rich.markdown import Markdown

            self.out.print(Markdown(text), soft_wrap=False)  # paragraphs wrap at word boundaries
        else:
            self._write(text.rstrip("\n") + "\n")

    # a streamed answer ---------------------------------------------------------------------------
    def answer_start(self) -> None:
        """A request is on its way: in a terminal, a status line until the answer's first words."""
        self._answer = ""
        if self.interactive:
            self._stream = _StreamedAnswer(self.out)
            self._stream.start()

    def answer_text(self, chunk: str) -> None:
        self._answer += chunk
        if self._stream is not None:
            self._stream.add(chunk)
        else:
            self._write(chunk)

    def answer_thinking(self) -> None:
        """The model streams extended thinking (not shown, but the person sees that it is at work)."""
        if self._stream is not None:
            self._stream.waiting = "reasoning (extended thinking)…"

    def answer_tool(self, name: str) -> None:
        """The model is writing a tool call."""
        if self._stream is not None:
            self._stream.waiting = f"preparing {name}…"

    def answer_end(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        elif self._answer and not self._answer.endswith("\n"):
            self._write("\n")

    def _write(self, text: str, console: Console | None = None) -> None:
        """Plain text, unrendered; once nobody reads it (``| head``) the rest is dropped quietly and the
        query goes on, so its answer is still kept."""
        console = console or self.out
        if id(console) in self._closed:
            return
        try:
            console.file.write(text)
            console.file.flush()
        except BrokenPipeError:
            self._closed.add(id(console))
            # Python flushes the stream again at exit: point it at /dev/null so that flush cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, console.file.fileno())
            os.close(devnull)

    @property
    def output_closed(self) -> bool:
        """Whether stdout's reader went away: further answers would go nowhere."""
        return id(self.out) in self._closed

    # tools and timing ----------------------------------------------------------------------------
    @contextmanager
    def tool_running(self, name: str, summary: str) -> Iterator[None]:
        """A spinner while the tool runs, then one dim line saying what ran and how long it took."""
        label = f"{name} {summary}".strip()
        started = time.perf_counter()
        if self.interactive:
            try:
                with self.out.status(Text(label, style="dim"), spinner="dots") as self._status:
                    yield
            finally:
                self._status = None
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

    def review_edit(self, diff: list[str], question: str) -> str:
        """Show a change as a coloured unified diff and ask: "y" apply, "n" skip, "a" apply all of this
        query's changes. Anything else, or no terminal, is "n"."""
        if not self.interactive:
            return "n"
        if self._status is not None:
            self._status.stop()
        styles = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}
        for line in diff:
            style = next((s for prefix, s in styles.items() if line.startswith(prefix)), "")
            self.out.print(Text(line, style=style))
        try:
            answer = self.out.input(Text(f"{question} [y]es / [n]o / [a]ll of this query ", style="bold"))
        except (EOFError, KeyboardInterrupt):
            answer = "n"
        finally:
            if self._status is not None:
                self._status.start()
        answer = answer.strip().lower()
        return answer[0] if answer in ("y", "yes", "n", "no", "a", "all") else "n"

class _StreamedAnswer:
    """The live region of a streamed answer: a status line until words arrive, then the unfinished tail.

    Finished markdown blocks are printed above the region, once; the region shows only the last lines of
    the unfinished block that fit on the screen, so however long the answer, nothing is drawn twice.
    """

    def __init__(self, console: Console) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        self.console = console
        self.started = time.monotonic()
        self.waiting: str | None = "thinking…"  # what the status line says; None once text streams
        self.pending = ""  # the unfinished end of the answer
        self.printed = 0
        self._spinner = Spinner("dots", style="dim")
        # transient and cropped: the live region never outgrows the screen, so nothing it drew stays in the
        # scrollback. Refreshed here, under one lock with the prints above it: rich's own refresh thread
        # could redraw between a print's rendering and its writing, and erase lines the print just wrote.
        self._live = Live(self, console=console, auto_refresh=False, transient=True, vertical_overflow="crop")
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def start(self) -> None:
        self._live.start(refresh=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._done.wait(0.1):
            with self._lock:
                self._live.refresh()

    def add(self, chunk: str) -> None:
        with self._lock:
            self.waiting = None
            self.pending += chunk
            if cut := finished_length(self.pending):
                block, self.pending = self.pending[:cut], self.pending[cut:]
                self._print(block)

    def stop(self) -> None:
        """Clear the live region and print what is left of the answer."""
        self._done.set()
        self._ticker.join()
        self._live.stop()
        if self.pending.strip():
            self._print(self.pending)
        self.pending = ""

    def _print(self, text: str) -> None:
        from rich.markdown import Markdown

        if self.printed:
            self.console.print()  # the blank line rich puts between blocks of one document
        self.console.print(Markdown(text.strip("\n")), soft_wrap=False)
        self.printed += 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = max(1, (options.height or console.height) - 2)
        if self.waiting is not None:
            room = max(1, room - 1)
        lines = []
        if self.pending.strip():
            from rich.markdown import Markdown

            lines = console.render_lines(Markdown(self.pending), options.update(height=None), pad=False)[-room:]
        for number, line in enumerate(lines):  # no newline after the last: rich's live region ends there
            if number:
                yield Segment.line()
            yield from line
        if self.waiting is not None:
            seconds = time.monotonic() - self.started
            self._spinner.update(text=Text(f"{self.waiting} {seconds:.0f}s · {CANCEL_KEY} to cancel", style="dim"))
            if lines:
                yield Segment.line()
            yield self._spinner


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> None:
    """Aligned columns on stdout (rich's table, no box): a bold header at a terminal; when piped, plain text,
    two spaces between columns and no trailing blanks, never wrapped, for scripts (``cut``, ``awk``)."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=header is not None, header_style="bold")
    for name in header or [""] * max((len(row) for row in rows), default=0):
        table.add_column(Text(name))
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))  # Text: a cell's "[b]" or ":x:" is not markup
    console = Console(file=sys.stdout, highlight=False)
    if console.is_terminal:
        console.print(table)
        return
    text = io.StringIO()
    Console(file=text, width=1_000_000, color_system=None, highlight=False).print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in text.getvalue().splitlines()))


def finished_length(text: str) -> int:
    """How much of streamed markdown ``text`` is complete blocks: up to the last blank line (outside code
    fences) that a new unindented block follows. Indented lines may continue a list item, so they wait."""
    end = position = 0
    fence = ""
    blank_before = False
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # still streaming
        stripped = line.strip()
        if fence:
            fence = "" if stripped.startswith(fence) else fence
            blank_before = False
        else:
            if stripped and blank_before and not line[0].isspace():
                end = position  # a new block starts here: everything before it is final
            if stripped.startswith(("```", "~~~")):
                fence = stripped[:3]
            blank_before = not stripped
        position += len(line)
    return end
