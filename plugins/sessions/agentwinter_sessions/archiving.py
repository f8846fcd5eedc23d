"""The local archive's part in a run: archive the session being left, and sweep those close to expiry.

The archive (LanceDB, an optional extra) is written by background processes (archiver.py), never by the
run itself: importing lancedb takes ~2 s of CPU, which must delay neither a query, nor ``!new``, nor the
shell's prompt after an exit. The session left is handed over as a file, so a failed archiver loses nothing.
The sweep starts a moment after a query starts, with the first query and then every ``sweep_seconds``, and
again at exit. Listings read what is archived from the archive's ledger (no LanceDB either).
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections.abc import Callable
from typing import Any

from agentwinter_sessions import archiver, lifecycle
from agentwinter_sessions.archive import archived
from agentwinter_sessions.deferred import Deferred
from agentwinter_sessions.failures import Corrupt, StoreError
from agentwinter_sessions.settings import Settings
from agentwinter_sessions.store import SessionStore

SWEEP_DELAY = 2.0  # seconds from a query's start to the archive sweep it triggers


class ArchiveKeeper:
    def __init__(
        self,
        settings: Settings,
        store: Callable[[], SessionStore],
        warn: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._store = store
        self.warn = warn
        self.clock = clock  # any monotonic clock: only differences between its readings count
        self.last_sweep: float | None = None  # never yet: the first query sweeps, whatever the clock says
        self.sweeper: Deferred | None = None
        self.children: list[subprocess.Popen[bytes]] = []  # the archivers started, until seen ended

    @functools.cached_property
    def archive(self) -> Any:
        """The LanceDB archive, or None when the archive extra is not installed (LanceDB not imported yet)."""
        return lifecycle.open_archive(self.settings.archive_dir, self.settings.archive)

    def leave(self, session_id: str | None, version: int, sweep: bool = False) -> None:
        """Before a session is left (``!new``, exit, another resumed): have it archived, if the extra is there,
        by a background archiver (with ``sweep``: that sweeps too)."""
        if self.archive is None:
            return
        handed = session_id is not None and version > 0 and self._hand_over(session_id)
        if handed or sweep:
            self.start(sweep)

    def finish(self, session_id: str | None, version: int) -> None:
        """At exit: the session left, and a last sweep when this run swept (it made queries). A sweep still
        waiting to start is left to that last one: one archiver (~2 s of CPU) instead of two."""
        if self.sweeper is not None:
            self.sweeper.cancel()
        self.leave(session_id, version, sweep=self.last_sweep is not None)

    def _hand_over(self, session_id: str) -> bool:
        try:
            loaded = self._store().load(session_id)
            if loaded is None:
                return False
            archiver.hand_over(self.settings.archive_dir, session_id, loaded[1], loaded[0])
            return True
        except (StoreError, Corrupt):
            return False  # still in Redis, or kept aside when next opened: a sweep has it
        except OSError as exc:
            self.warn(f"could not hand session {session_id} over for archiving: {exc}; the next sweep archives it")
            return False

    def start(self, sweep: bool) -> None:
        """A background archiver for what waits (and, with ``sweep``, what expires soon)."""
        self.children = [child for child in self.children if child.poll() is None]  # the ended ones reaped
        try:
            self.children.append(archiver.start(self.settings.archive_dir, sweep))
        except OSError as exc:
            self.warn(f"could not start archiving in the background: {exc}; the next run archives what waits")

    def versions(self) -> dict[str, int] | None:
        """Archived versions by id (None without the archive), from the ledger: ``!sessions`` stays instant."""
        return None if self.archive is None else archived(self.settings.archive_dir)

    def report(self) -> None:
        """Say, once, what an earlier background archiver could not do."""
        if self.archive is not None:
            for line in archiver.problems(self.settings.archive_dir):
                self.warn(line)

    def sweep_if_due(self) -> None:
        now = self.clock()
        due = self.last_sweep is None or now - self.last_sweep >= self.settings.sweep_seconds
        if not due or self.archive is None or (self.sweeper is not None and self.sweeper.is_alive()):
            return
        self.last_sweep = now
        self.sweeper = Deferred(lambda: self.start(sweep=True), SWEEP_DELAY)

    def wait(self, timeout: float = 120) -> None:
        """Wait for the archivers this run started (tests and benchmarks; a run never waits for them)."""
        if self.sweeper is not None:
            self.sweeper.join(timeout)
        for child in self.children:
            child.wait(timeout)
