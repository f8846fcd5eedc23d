"""Moving between sessions: resume by id or name, continue, fork, name, and archive what is left behind.

A mixin of ``Tracker`` (session.py), which holds the state these methods use: the current id,
version, name and history, the store and the archive.
"""

from __future__ import annotations

import time
from typing import Any

from agentwinter_core import history
from agentwinter_core.state import App, Conversation, Usage, UsageError
from agentwinter_sessions import lifecycle, workspace
from agentwinter_sessions.deferred import Deferred
from agentwinter_sessions.document import CorruptSession, decode, new_id
from agentwinter_sessions.errors import Offline
from agentwinter_sessions.settings import Settings, redact

SWEEP_DELAY = 2.0  # seconds from a query's start to the archive sweep it triggers


class Switching:
    # State owned by Tracker (session.py); declared here so each method reads on its own.
    app: App
    settings: Settings
    id: str | None
    version: int
    name: str
    usage: Usage
    kept: Conversation
    announced: bool
    note: str
    last_sweep: float
    sweeper: Deferred | None
    _archived: dict[str, int] | None
    store: Any
    archive: Any

    def start(self, options: dict[str, Any]) -> None:
        """Act on ``--session``, ``--resume``, ``--continue`` and ``--fork``; then sweep the archive."""
        given = {
            key: options.get(key) for key in ("session", "resume", "cont") if options.get(key) not in (None, False)
        }
        if len(given) > 1:
            raise UsageError("use one of --session, --resume and --continue, not several")
        fork = options.get("fork") or options.get("fork_at") is not None
        if fork and not given:
            raise UsageError("--fork needs a session to copy: add --resume ID|NAME, --continue or --session NAME")
        try:
            if "session" in given:
                self.start_named(given["session"])
            elif "resume" in given:
                self.open(lifecycle.find(self.store, self.archive, given["resume"], self.ttl))
            elif "cont" in given:
                self.open(self._latest_here())
            if fork:
                self.app.ui.info(self.fork(_count(options.get("fork_at"))))
        except (Offline, *self.unavailable()) as exc:
            url = redact(self.settings.redis_url)
            raise UsageError(f"Redis at {url} is unreachable: cannot open a session") from exc
        self.sweep_if_due()

    def _latest_here(self) -> str:
        found = self.call("latest_in", self.cwd)
        if found is None:
            raise UsageError(f"no session to continue in {self.cwd}: start one by asking something")
        return found

    def open(self, session_id: str) -> None:
        """Make a stored session the current one (it slides its TTL), and say whether the code changed."""
        raw = self.call("load", session_id)
        try:
            document = decode(raw) if raw is not None else None
        except CorruptSession as exc:
            target = self.call("quarantine", session_id)
            raise UsageError(f"session {session_id} could not be used ({exc}); kept as {target}") from exc
        if document is None:
            raise UsageError(f"session {session_id} expired a moment ago")
        if self.id not in (None, session_id):
            self.archive_current()
        self.reset()
        self.adopt(document)
        self.call("touch", session_id, self.ttl)
        self.announced = True
        self.app.ui.info(f"↩️  Resuming session: {self.id} ({len(self.kept.messages)} messages)")
        self._check_stale(document)

    def _check_stale(self, document: dict[str, Any]) -> None:
        if document.get("cwd") != self.cwd:
            self.app.ui.info(f"this session was started in {document.get('cwd')}; you are in {self.cwd}")
            return
        changes = workspace.changes(document.get("workspace") or {}, self.app.project_dir)
        if changes is not None:
            self.app.ui.warn(changes.summary())
            self.note = changes.note()

    def start_named(self, name: str) -> None:
        """``--session NAME``: resume the session with that name, or start one that has it."""
        name = lifecycle.check_name(name)
        found = self.call("named", name)
        if found is None and self.archive is not None and (archived := self.archive.find(name)):
            found = lifecycle.restore(self.store, self.archive, archived[0], self.ttl)
        if found is not None:
            self.open(found)
            return
        self.reset()
        self.id, self.name = new_id(), name
        if owner := self.call("name", self.id, name, ""):
            self.open(owner)  # another agentwinter created it a moment ago
            return
        self.announced = True
        self.app.ui.info(f"🆕 New session: {self.id} ({name})")

    def rename(self, name: str) -> str:
        name = lifecycle.check_name(name)
        if self.id is None:
            self.id, self.announced = new_id(), True
            self.app.ui.info(f"🆕 New session: {self.id}")
        if owner := self.call("name", self.id, name, self.name):
            raise UsageError(f"the name '{name}' belongs to session {owner}")
        self.name = name
        if self.version:
            self.save_now()
        return f"This session (`{self.id}`) is now named **{name}**: resume it with `agentwinter --session {name}`."

    def fork(self, queries: int | None = None) -> str:
        """Continue in a copy of this session (cut after ``queries`` queries); the original is untouched."""
        if self.id is None or not self.kept.messages:
            raise UsageError("nothing to fork yet: ask something first")
        messages = self.kept.messages
        starts = history.query_starts(messages)
        if queries is not None and not 0 < queries <= len(starts):
            raise UsageError(f"this session has {len(starts)} queries: fork after 1 to {len(starts)}")
        cut = messages if queries is None or queries == len(starts) else messages[: starts[queries]]
        old, usage = self.id, self.usage
        self.reset()
        self.id, self.usage = new_id(), usage
        self.kept = self.app.conversation = Conversation(list(cut), dict(self.app.conversation.metadata))
        self.announced = True
        self.save_now()
        return f"🍴 Forked `{old}` → `{self.id}` ({len(cut)} messages); the original is untouched."

    def save_now(self) -> None:
        self.app.conversation = self.kept
        write, meta = self.encode()
        try:
            self._save(write, meta)
        except Offline:
            self.encoder.forget()

    @property
    def ttl(self) -> int:
        return self.settings.ttl_seconds

    def archive_current(self) -> None:
        """Before this session is left (``!new``, exit, another resumed): archive it, if the extra is there."""
        if self.id is None or not self.version or self.archive is None:
            return
        try:
            lifecycle.archive_one(self.store, self.archive, self.id)
            self._archived = None
        except Offline:
            pass
        except Exception as exc:  # an archive problem must never cost the live session
            self.app.ui.warn(f"could not archive session {self.id}: {type(exc).__name__}: {exc}")

    def archived(self) -> dict[str, int] | None:
        """Archived versions by id (None without the archive), cached: ``!sessions`` stays instant."""
        if self.archive is None:
            return None
        if self._archived is None:
            self._archived = self.archive.versions()
        return self._archived

    def sweep_if_due(self) -> None:
        """Archive sessions close to expiry: with the first query and every few minutes, in the background."""
        due = time.monotonic() - self.last_sweep >= self.settings.sweep_seconds
        if not due or self.archive is None or (self.sweeper is not None and self.sweeper.is_alive()):
            return
        self.last_sweep = time.monotonic()
        # Importing lancedb takes ~2 s of CPU: next to the first query's import of anthropic it would
        # delay that query's request by as much.
        self.sweeper = Deferred(self._sweep, SWEEP_DELAY)

    def _sweep(self) -> None:
        from agentwinter_sessions.store import Unavailable

        try:
            lifecycle.sweep(self.store, self.archive, self.settings.archive_margin_seconds)
            self._archived = self.archive.versions()
        except Unavailable:
            pass  # the outage is reported by the query path
        except Exception as exc:  # a background chore: report, never crash
            self.app.ui.warn(f"archive sweep failed: {type(exc).__name__}: {exc}")

    def finish(self) -> None:
        if self.sweeper is not None:
            self.sweeper.join(timeout=10)
        self.archive_current()


def _count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"--fork-at takes a number of queries, not {value!r}") from None
