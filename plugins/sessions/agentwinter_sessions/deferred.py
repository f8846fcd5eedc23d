"""Background chores that wait a moment before they start, so a query's own work goes first."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Deferred:
    """``function`` in a daemon thread, ``delay`` seconds from now, or at once when someone waits for it.

    Started as a query begins, a chore that runs at once holds the GIL while the query builds and sends its
    request (up to the 5 ms switch interval per turn, seconds for an import); the delay keeps it off that path.
    """

    def __init__(self, function: Callable[[], None], delay: float) -> None:
        self._go = threading.Event()
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, args=(function, delay), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[[], None], delay: float) -> None:
        self._go.wait(delay)
        if not self._cancelled:
            function()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Drop the chore if it has not started (one that has runs to its end)."""
        self._cancelled = True
        self._go.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the chore, starting it now if it is still waiting."""
        self._go.set()
        self._thread.join(timeout)
