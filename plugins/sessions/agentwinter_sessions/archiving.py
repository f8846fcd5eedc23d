"""The local archive's part in a run: archive the session being left, and sweep those close to expiry.

The archive (LanceDB, an optional extra) is opened only when the extra is installed; the sweep runs in a
background thread a moment after a query starts (importing lancedb takes ~2 s of CPU, which must not
delay the query's request), with the first query and then every ``sweep_seconds``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from agentwinter_sessions import lifecycle
from agentwinter_sessions.deferred import Deferred
from agentwinter_sessions.failures import StoreError
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
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.owner = owner  # the sweep archives this owner's sessions (None: everyone's)
        self._store = store
        self.warn = warn
        self.clock = clock  # any monotonic clock: only differences between its readings count
        self.last_sweep: float | None = None  # never yet: the first query sweeps, whatever the clock says
        self.sweeper: Deferred | None = None
        self._versions: dict[str, int] | None = None  # id -> archived version, as of the last sweep

    @functools.cached_property
    def archive(self) -> Any:
        """The LanceDB archive, or None when the archive extra is not installed."""
        return lifecycle.open_archive(self.settings.archive_dir)

    def leave(self, session_id: str | None, version: int) -> None:
        """Before a session is left (``!new``, exit, another resumed): archive it, if the extra is there."""
        if session_id is None or not version or self.archive is None:
            return
        try:
            lifecycle.archive_one(self._store(), self.archive, session_id)
            self._versions = None
        except StoreError:
            pass  # still in Redis; the next sweep archives it
        except Exception as exc:  # an archive problem must never cost the live session
            self.warn(f"could not archive session {session_id}: {type(exc).__name__}: {exc}")

    def versions(self) -> dict[str, int] | None:
        """Archived versions by id (None without the archive), cached: ``!sessions`` stays instant."""
        if self.archive is None:
            return None
        if self._versions is None:
            self._versions = self.archive.versions()
        return self._versions

    def sweep_if_due(self) -> None:
        now = self.clock()
        due = self.last_sweep is None or now - self.last_sweep >= self.settings.sweep_seconds
        if not due or self.archive is None or (self.sweeper is not None and self.sweeper.is_alive()):
            return
        self.last_sweep = now
        self.sweeper = Deferred(self._sweep, SWEEP_DELAY)

    def _sweep(self) -> None:
        try:
            lifecycle.sweep(self._store(), self.archive, self.settings.archive_margin_seconds, self.owner)
            self._versions = self.archive.versions()
        except StoreError:
            pass  # the query path reports the store's problems
        except Exception as exc:  # a background chore: report, never crash
            self.warn(f"archive sweep failed: {type(exc).__name__}: {exc}")

    def finish(self) -> None:
        if self.sweeper is not None:
            self.sweeper.join(timeout=10)
