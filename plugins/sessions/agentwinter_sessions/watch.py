"""The working-tree state each save records, for stale-context detection on resume.

``git status`` costs milliseconds, so it runs in a thread while the model answers, at most every
``REFRESH`` seconds (an older snapshot can only report more files as changed, never fewer: on resume
the model re-reads a file too many, never one too few). Outside git, the save adds the files the query
itself read (cheap stats).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agentwinter_sessions import workspace
from agentwinter_sessions.deferred import Deferred

REFRESH = 30.0  # seconds
DELAY = 0.05  # seconds: the query's request goes out before git runs (the save waits for it if need be)


class Watch:
    def __init__(self, project_dir: Path) -> None:
        self.root = Path(project_dir).resolve()  # once: saves stat the files a query read below it
        self._job: Deferred | None = None
        self._result: dict[str, Any] = {}
        self._read: set[str] = set()
        self._scanned = 0  # messages already searched for read_file paths
        self._taken = -REFRESH  # monotonic time of the last snapshot
        self._identity: str | None = None

    def start(self, messages: list[dict[str, Any]]) -> None:
        """Before a query: snapshot the tree in the background, unless the last one is recent."""
        paths = sorted(self._paths(messages))
        if time.monotonic() - self._taken < REFRESH:
            return
        self._taken = time.monotonic()
        self._job = Deferred(lambda: self._snapshot(paths), DELAY)

    def wait(self) -> None:
        if self._job is not None:
            self._job.join(timeout=5)
            self._job = None

    def recorded(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """At save: the snapshot, with the files this query read added."""
        self.wait()
        before = set(self._read)
        new = sorted(self._paths(messages) - before)
        result = self._result or workspace.snapshot(self.root, sorted(self._read))
        if new and not result.get("git"):
            files = {**result.get("files", {}), **workspace.file_states(self.root, new)}
            result = {**result, "files": files}
        self._result = result
        return result

    def identity(self) -> str:
        """The repository identity, worked out once per run: by the background snapshot when one ran."""
        self.wait()
        if self._identity is None:
            self._identity = workspace.identity(self.root)
        return self._identity

    def _snapshot(self, paths: list[str]) -> None:
        if self._identity is None:
            self._identity = workspace.identity(self.root)
        self._result = workspace.snapshot(self.root, paths)

    def _paths(self, messages: list[dict[str, Any]]) -> set[str]:
        if len(messages) < self._scanned:  # a different history (reloaded, forked): start over
            self._read, self._scanned = set(), 0
        self._read.update(workspace.read_paths(messages[self._scanned :]))
        self._scanned = len(messages)
        return self._read
