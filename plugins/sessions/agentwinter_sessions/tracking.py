"""One run's sessions: the current session's state composed with a store, saved after every query.

Nothing is lost silently: a query the store did not take stays in memory and is counted; every failed save
says how many are waiting and why; the first save that works catches up on all of them; at exit what is
still waiting goes to a local file (spill.py) that a later run uploads.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable
from typing import Any

from agentwinter_core.api import App, QueryResult, history
from agentwinter_sessions import spill
from agentwinter_sessions.archiving import ArchiveKeeper
from agentwinter_sessions.document import FORMAT, Encoder, decode, new_id, summary_of
from agentwinter_sessions.failures import Corrupt, Locked, StoreError
from agentwinter_sessions.settings import Settings
from agentwinter_sessions.state import SessionState
from agentwinter_sessions.store import SessionStore
from agentwinter_sessions.watch import Watch

SAVE_ATTEMPTS = 5  # compare-and-set rounds against another writer before this run forks
EXIT_RETRIES = (0.0, 0.5)  # seconds to wait before each last try at exit


def owner() -> str:
    """Who this process runs for: OS user and host (recorded with each session)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        import os

        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _derived(name: str) -> list[str]:
    return [f"{name}-{number}" for number in range(2, 100)]


def queries(count: int) -> str:
    return "1 query" if count == 1 else f"{count} queries"


class Tracker:
    """Kept in ``app.plugin_state["sessions"]``."""

    def __init__(self, app: App, settings: Settings, store: SessionStore | None = None) -> None:
        self.app = app
        self.settings = settings
        self._store = store
        self.state = SessionState(owner=owner())
        self.encoder = Encoder(lambda value: app.pm.hook.dump_json(value=value))
        self.watch = Watch(app.project_dir)
        self.archive = ArchiveKeeper(settings, lambda: self.store, app.ui.warn)
        self._reached = False  # the store answered once in this run (spills checked, eviction warned)

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            self._store = self.settings.store()  # redis-py loads with the first query only
        return self._store

    @property
    def cwd(self) -> str:
        return str(self.app.project_dir)

    @property
    def place(self) -> str:
        """This directory's repository identity: what --continue and listings of "here" match."""
        return self.watch.identity()

    # ---- before a query ---------------------------------------------------------------------------------
    def before_query(self) -> None:
        state = self.state
        if state.id is not None:
            self.app.conversation = state.conversation
            if state.announced:  # by --resume, !resume, ...: just now
                state.announced = False
            else:
                self._refresh()
                if self.state.messages:
                    self.app.ui.info(f"↩️  Resuming session: {self.state.id} ({len(self.state.messages)} messages)")
        if self.state.note:  # the core appends the query to this same user message
            history.append_user_text(self.app.conversation.messages, self.state.note)
            self.state.note = ""
        self.state.base_len = len(self.app.conversation.messages)
        self.watch.start(self.app.conversation.messages)
        self.archive.sweep_if_due()
        self.tell_notices()

    def tell_notices(self) -> None:
        """Say what the store set aside (never silently)."""
        for notice in self._store.notices() if self._store is not None else []:
            self.app.ui.warn(notice)

    def _refresh(self) -> None:
        """Slide the TTL, and find out what happened to the stored session since we last saw it."""
        state = self.state
        try:
            found = self.store.touch(state.id)  # type: ignore[arg-type]
        except StoreError:
            return  # the session goes on in memory; the save says what is not saved
        except Corrupt as exc:  # not even a string where the document belongs
            self._set_aside(str(exc))
            return
        self._reached_store()
        if found is None:
            if state.version:
                self.app.ui.warn(
                    f"session {state.id} is gone from Redis (expired, evicted or flushed); "
                    "it is saved again from memory with this query"
                )
            state.version, state.dirty = 0, True
        elif found[0] > state.version:
            self._reload()
        elif found[0] < state.version:
            self.app.ui.warn(f"Redis holds an older version of session {state.id}; it is saved again from memory")
            state.version, state.dirty = found[0], True
        elif state.length and found[1] != state.length:
            self._outside_write()

    def _reload(self) -> None:
        """Another process saved this session: take its version as ours."""
        try:
            loaded = self.store.load(self.state.id)  # type: ignore[arg-type]
            if loaded is None:
                return
            self.adopt(decode(loaded[0]), loaded[1], len(loaded[0]))
        except Locked as exc:
            self._locked_out(exc)
            return
        except StoreError:
            return
        except Corrupt as exc:
            self._set_aside(str(exc))
            return
        self.app.ui.info(f"↻ Session {self.state.id} was updated by another agentwinter; loaded its latest version")

    def _outside_write(self) -> None:
        """The stored value changed without a save (by hand, or damaged): keep a copy, save ours over it."""
        try:
            loaded = self.store.load(self.state.id)  # type: ignore[arg-type]
            if loaded is not None:
                decode(loaded[0])
        except Locked as exc:
            self._locked_out(exc)
            return
        except StoreError:
            return
        except Corrupt as exc:
            self._set_aside(str(exc))
            return
        self._set_aside("it was changed outside agentwinter")

    def _set_aside(self, reason: str) -> None:
        try:
            where = self.store.quarantine(self.state.id)  # type: ignore[arg-type]
        except StoreError:
            return
        self.app.ui.warn(f"stored session {self.state.id} could not be used ({reason}); kept as {where}")
        self.state.version, self.state.dirty = 0, True

    def _locked_out(self, exc: Locked) -> None:
        """The stored session is sealed with a key this run lacks: leave it as it is, go on in a new one."""
        state = self.state
        state.id, state.name, state.version, state.length, state.dirty = new_id(), "", 0, 0, True
        self.app.ui.warn(f"{exc}; this conversation goes on as {state.id}")

    def adopt(self, document: dict[str, Any], version: int, length: int) -> None:
        self.state = SessionState.of(document, version, length)
        self.state.owner = self.state.owner or owner()
        self.app.conversation = self.state.conversation

    # ---- after a query ------------------------------------------------------------------------------------
    def after_response(self, result: QueryResult) -> None:
        state = self.state
        state.usage.add(result.usage)
        state.conversation = self.app.conversation
        if not state.messages and not state.length:
            return  # nothing worth keeping yet (e.g. the first query failed); a stored one emptied by !undo is
        if result.changed:
            state.unsaved += 1
            state.dirty = True
        if len(state.messages) > self.settings.warn_messages and not state.warned_long:
            state.warned_long = True
            self.app.ui.warn(
                f"this session has {len(state.messages)} messages: one feature per session keeps answers "
                "sharp and cheap — type !new to start fresh"
            )
        if state.dirty:
            self.save()
        self.tell_notices()

    def save(self, report: Callable[[str], None] | None = None) -> bool:
        """Store the conversation in memory; False (said in one line) when the store did not take it."""
        state = self.state
        report = report or self.app.ui.warn
        first = not state.length  # never stored yet (a session the store lost was stored once)
        if state.id is None:
            state.id = new_id()
        raw = self.encode()
        if len(raw) > self.settings.max_bytes:
            report(
                f"session {state.id} is {len(raw):,} bytes, over the {self.settings.max_bytes:,}-byte limit even "
                "after cleanup: not saved; it continues in memory (start a fresh one with !new)"
            )
            return False
        try:
            self._store_merging_through_ctrl_c(raw)
        except StoreError as exc:
            self.state.problem = str(exc)
            report(f"{queries(max(self.state.unsaved, 1))} not saved yet: {exc}")
            return False
        state = self.state  # a merge may have replaced it
        caught, state.unsaved, state.dirty, state.problem = state.unsaved, 0, False, ""
        if first:
            self.app.ui.info(f"🆕 New session: {state.id}" + (f" ({state.name})" if state.name else ""))
        self._reached_store()
        waited = f", with {caught} queries that were waiting" if caught > 1 else ""
        self.app.ui.info(f"💾 Session saved{waited} (expires in {self.settings.ttl_text()})")
        return True

    def _store_merging_through_ctrl_c(self, raw: bytes) -> None:
        """A save in flight completes: a Ctrl-C during it (the query is over by then) is answered by saving
        again, from the start (redis-py drops a connection a BaseException cut, so no answer is left behind)."""
        try:
            self._store_merging(raw)
        except KeyboardInterrupt:
            self.app.ui.warn("interrupted while saving: saving once more, so the query is kept")
            self._store_merging(self.encode())

    def _store_merging(self, raw: bytes) -> None:
        for _ in range(SAVE_ATTEMPTS):
            state = self.state  # a merge replaces it
            if self.store.save(state.id, raw, state.version + 1, state.version, self._summary(raw)):  # type: ignore[arg-type]
                state.version, state.length = state.version + 1, len(raw)
                return
            if self._merge_with_stored():
                return
            raw = self.encode()
        self._fork_away()

    def _fork_away(self) -> None:
        """Another writer keeps winning: go on in a new session, named after this one (``NAME-2``, ...)."""
        state = self.state
        old, original = state.id, state.name
        state.id, state.name, state.version = new_id(), "", 0
        self._save_new()
        if original:  # named once stored, so a name always points at a stored session
            claimed = (n for n in _derived(original) if not self.store.claim_name(state.id, n, "", state.owner))
            state.name = next(claimed, "")
            if state.name:
                self._save_new()
        named = f" ({state.name})" if state.name else ""
        self.app.ui.warn(
            f"session {old} keeps changing in another agentwinter; this conversation goes on as {state.id}{named}"
        )

    def _save_new(self) -> None:
        """Save a session only this run knows (nobody else can be writing it)."""
        state = self.state
        raw = self.encode()
        self.store.save(state.id, raw, state.version + 1, state.version, self._summary(raw))  # type: ignore[arg-type]
        state.version, state.length = state.version + 1, len(raw)

    def _merge_with_stored(self) -> bool:
        """Another writer won: put this query's messages on top of what it stored. True when what is stored
        is our own write (its answer was lost and the call retried): nothing left to do."""
        state = self.state
        mine = state.messages[state.base_len :]
        try:
            loaded = self.store.load(state.id)  # type: ignore[arg-type]
        except Locked as exc:
            self._locked_out(exc)
            return False
        try:
            document = decode(loaded[0]) if loaded is not None else None
        except Corrupt:
            document = None
        if document is None or loaded is None:
            state.version = loaded[1] if loaded is not None else 0
            return False
        if document["messages"] == state.messages:
            state.version, state.length = loaded[1], len(loaded[0])
            return True
        unsaved, usage = state.unsaved, state.usage
        self.adopt(document, loaded[1], len(loaded[0]))
        self.state.unsaved, self.state.dirty, self.state.usage = unsaved, True, usage
        self.state.conversation.messages = history.repair([*document["messages"], *mine])
        self.state.base_len = len(document["messages"])
        return False

    def encode(self) -> bytes:
        state = self.state
        header = {
            "format": FORMAT,
            "id": state.id,
            "name": state.name,
            "owner": state.owner,
            "created": state.created,
            "updated": time.time(),
            "cwd": self.cwd,
            "repository": self.place,
            "model": self.app.model,
            "usage": state.usage.to_dict(),
            "metadata": state.conversation.metadata,
            "version": state.version + 1,
            "workspace": self.watch.recorded(state.messages),
        }
        return self.encoder.encode(header, state.messages)

    def _summary(self, raw: bytes) -> Any:
        state = self.state
        document = {"name": state.name, "messages": state.messages, "created": state.created, "updated": time.time()}
        return summary_of({**document, "cwd": self.cwd, "repository": self.place, "owner": state.owner}, len(raw))

    # ---- the first answer of the store in this run ------------------------------------------------------
    def _reached_store(self) -> None:
        if self._reached:
            return
        self._reached = True
        try:
            if policy := self.store.evicting():
                self.app.ui.warn(
                    f"Redis at {self.settings.where} evicts keys when full (maxmemory-policy {policy}): sessions "
                    "can vanish before they expire; set maxmemory-policy noeviction"
                )
        except StoreError:
            pass  # INFO denied by an ACL, say: nothing to warn about
        for path in spill.waiting(self.settings.spill_dir):
            self._recover(path)
        self.archive.report()

    def _recover(self, path: Any) -> None:
        try:
            done = spill.recover(self.store, path)
        except (StoreError, OSError) as exc:
            self.app.ui.warn(f"could not upload {path} yet: {exc}")
        except Corrupt as exc:
            self.app.ui.warn(f"{path} is not a session ({exc}); kept as {path.with_suffix('.corrupt')}")
        else:
            self.app.ui.info(f"⤴ Uploaded {done.id} from {path} ({done.note}), kept there while Redis was away")

    # ---- leaving --------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """At exit: a last try for what is not saved, else a local file; then archive the session (in the
        background: the shell's prompt does not wait for it)."""
        state = self.state
        if state.dirty and state.messages:
            for delay in EXIT_RETRIES:
                time.sleep(delay)
                if self.save(report=lambda _line: None):
                    break
            else:
                self.spill_unsaved()
        self.archive.finish(state.id, state.version)

    def spill_unsaved(self) -> None:
        """Keep what the store did not take in a local file that a later run uploads."""
        state = self.state
        raw = self.encode()
        try:
            path = spill.write(self.settings.spill_dir, state.id, raw)  # type: ignore[arg-type]
        except OSError as exc:
            self.app.ui.error(f"{queries(max(state.unsaved, 1))} of session {state.id} could not be saved: {exc}")
            return
        self.app.ui.warn(
            f"{queries(max(state.unsaved, 1))} of session {state.id} not saved to Redis ({state.problem}); "
            f"kept in {path}: the next run that reaches Redis uploads it (or: agentwinter sessions recover)"
        )
