"""One run's current session: load before a query, save after it, survive a Redis outage."""

from __future__ import annotations

import functools
import time
from typing import Any

from agentwinter_core import history
from agentwinter_core.state import App, Conversation, QueryResult, Usage
from agentwinter_sessions import lifecycle
from agentwinter_sessions.deferred import Deferred
from agentwinter_sessions.document import FORMAT, CorruptSession, Encoder, Write, decode, new_id
from agentwinter_sessions.errors import Offline
from agentwinter_sessions.settings import Settings, redact
from agentwinter_sessions.switching import Switching
from agentwinter_sessions.watch import Watch

SAVE_ATTEMPTS = 3


class Tracker(Switching):
    """Kept in ``app.plugin_state["sessions"]``: what this process knows about its session."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = Settings.load(app.config.section("sessions"), app.ui.warn)
        self.encoder = Encoder(lambda value: app.pm.hook.dump_json(value=value))
        self._store: Any = None
        self.unreachable = False  # warned about an outage, not yet recovered
        self.workspace = Watch(app.project_dir)
        self.last_sweep = 0.0
        self.sweeper: Deferred | None = None
        self._archived: dict[str, int] | None = None  # id -> archived version, as of the last sweep
        self.reset()

    def reset(self) -> None:
        self.id: str | None = None
        self.version = 0  # the version this process last saved or loaded
        self.created = time.time()
        self.name = ""
        self.usage = Usage()
        self.base_len = 0  # messages before the current query
        self.kept = Conversation()  # this session's history as of the last query (the core forgets it)
        self.warned_long = False
        self.announced = False  # the resume was already announced (by --resume, !resume, ...)
        self.note = ""  # told to the model with the next query (files changed since the session was saved)
        self.encoder.forget()

    @property
    def cwd(self) -> str:
        return str(self.app.project_dir)

    # ---- Redis, lazily and forgivingly -----------------------------------------------------------
    @property
    def store(self) -> Any:
        if self._store is None:
            from agentwinter_sessions.store import Store  # redis loads with the first query only

            self._store = Store(self.settings.redis_url)
        return self._store

    @staticmethod
    def unavailable() -> tuple[type[Exception], ...]:
        from agentwinter_sessions.store import Unavailable

        return Unavailable

    def call(self, method: str, *args: Any) -> Any:
        """A store call; on an outage: one warning, then Offline (the session goes on in memory)."""
        try:
            result = getattr(self.store, method)(*args)
        except self.unavailable() as exc:
            if not self.unreachable:
                self.unreachable = True
                self.app.ui.warn(
                    f"Redis at {redact(self.settings.redis_url)} is unreachable ({type(exc).__name__}); "
                    "the session continues in memory and is saved when Redis is back"
                )
            raise Offline from exc
        if self.unreachable:
            self.unreachable = False
            self.app.ui.info(f"Redis at {redact(self.settings.redis_url)} is back")
        return result

    @functools.cached_property
    def archive(self) -> Any:
        """The LanceDB archive, or None when the archive extra is not installed."""
        return lifecycle.open_archive(self.settings.archive_dir)

    # ---- before a query ---------------------------------------------------------------------------
    def before_query(self) -> None:
        if self.id is None:
            self.id = new_id()
            self.app.ui.info(f"🆕 New session: {self.id}")
        elif self.announced:
            self.announced = False
            self.app.conversation = self.kept
        else:
            resumed = self.id
            self.app.conversation = self.kept
            try:
                stored = self.call("touch", self.id, self.settings.ttl_seconds, self.version)
                if stored is None:  # expired or lost: the next save writes the whole value
                    self.encoder.forget()
                elif stored < self.version:  # Redis came back from an older snapshot: ours is newer
                    self.version = stored
                    self.encoder.forget()
                elif stored > self.version:
                    self._reload()
            except Offline:
                pass
            if self.id == resumed:  # not replaced by a fresh session after a corrupt value
                self.app.ui.info(f"↩️  Resuming session: {self.id} ({len(self.app.conversation.messages)} messages)")
        if self.note:  # the core appends the query to this same user message
            history.append_user_text(self.app.conversation.messages, self.note)
            self.note = ""
        self.base_len = len(self.app.conversation.messages)
        self.workspace.start(self.app.conversation.messages)
        self.sweep_if_due()

    def _reload(self) -> None:
        """Another process saved this session: take its version as ours."""
        raw = self.call("load", self.id)
        if raw is None:
            return
        try:
            document = decode(raw)
        except CorruptSession as exc:
            self._set_aside(str(exc))
            return
        self.adopt(document)
        self.app.ui.info(f"↻ Session {self.id} was updated by another agentwinter; loaded its latest version")

    def adopt(self, document: dict[str, Any]) -> None:
        self.id, self.version = document["id"], document["version"]
        self.name = document.get("name") or ""
        self.created = float(document.get("created") or time.time())
        self.usage = Usage.from_api(document["usage"])
        self.kept = self.app.conversation = Conversation(document["messages"], document["metadata"])

    def _set_aside(self, reason: str) -> None:
        target = self.call("quarantine", self.id)
        self.app.ui.warn(f"session {self.id} could not be used ({reason}); kept as {target}; starting a new one")
        self.reset()
        self.id = new_id()
        self.app.conversation = self.kept
        self.app.ui.info(f"🆕 New session: {self.id}")

    # ---- after a query ----------------------------------------------------------------------------
    def after_response(self, result: QueryResult) -> None:
        self.usage.add(result.usage)
        self.kept = self.app.conversation
        messages = self.app.conversation.messages
        if not messages or self.id is None:
            return  # nothing worth keeping yet (e.g. the first query failed)
        if len(messages) > self.settings.warn_messages and not self.warned_long:
            self.warned_long = True
            self.app.ui.warn(
                f"this session has {len(messages)} messages: one feature per session keeps answers "
                "sharp and cheap — type !new to start fresh"
            )
        write, meta = self.encode()
        if write.length > self.settings.max_bytes:
            self.app.ui.warn(
                f"session {self.id} is {write.length:,} bytes, over the {self.settings.max_bytes:,}-byte limit even "
                "after cleanup: not saved; it continues in memory (start a fresh one with !new)"
            )
            return
        try:
            self._save(write, meta)
        except Offline:
            self.encoder.forget()  # the write may or may not have happened
            return
        self.app.ui.info(f"💾 Session saved (expires in {self.settings.ttl_text()})")

    def _save(self, write: Write, meta: bytes) -> None:
        for _ in range(SAVE_ATTEMPTS):
            saved = self.call("save", self.id, self.version, write, self.settings.ttl_seconds, meta, self.cwd)
            if saved is not None:
                self.version = saved
                self.encoder.saved(write)
                return
            self.encoder.forget()
            self._merge_with_stored()
            write, meta = self.encode()
        old = self.id
        self.id, self.version = new_id(), 0
        write, meta = self.encode()
        self.version = self.call("save", self.id, 0, write, self.settings.ttl_seconds, meta, self.cwd) or 0
        self.encoder.saved(write)
        self.app.ui.warn(
            f"session {old} keeps changing in another agentwinter; this conversation continues as {self.id}"
        )

    def _merge_with_stored(self) -> None:
        """Another writer won: put this query's messages on top of what it stored."""
        mine = self.app.conversation.messages[self.base_len :]
        raw = self.call("load", self.id)
        try:
            document = decode(raw) if raw is not None else None
        except CorruptSession:
            document = None
        if document is None:
            self.version = 0
            return
        # Our own write, whose answer was lost (a timeout after Redis ran it, then a retry): nothing to add.
        own = document["messages"] == self.app.conversation.messages
        self.adopt(document)
        if own:
            return
        self.app.conversation.messages = history.repair([*document["messages"], *mine])
        self.base_len = len(document["messages"])

    def encode(self) -> tuple[Write, bytes]:
        messages = self.app.conversation.messages
        header = {
            "format": FORMAT,
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "updated": time.time(),
            "cwd": self.cwd,
            "model": self.app.model,
            "usage": self.usage.to_dict(),
            "metadata": self.app.conversation.metadata,
            "version": self.version + 1,
            "workspace": self.workspace.recorded(messages),
        }
        write = self.encoder.encode(header, messages)
        return write, lifecycle.summary({**header, "messages": messages}, write.length)
