"""Moving between sessions: resume by id or name, continue, fork, name, start afresh.

Functions of a ``Tracker`` (tracking.py): each reads and replaces its ``state`` through its public parts.
Problems a person can fix raise ``UsageError`` with one line.
"""

from __future__ import annotations

import shlex
from typing import Any

from agentwinter_core.api import Conversation, UsageError, history
from agentwinter_sessions import lifecycle, workspace
from agentwinter_sessions.document import decode, new_id
from agentwinter_sessions.failures import Corrupt, StoreError
from agentwinter_sessions.state import SessionState
from agentwinter_sessions.store import owned_by
from agentwinter_sessions.tracking import Tracker, owner, queries


def start(tracker: Tracker, options: dict[str, Any]) -> None:
    """Act on ``--session``, ``--resume``, ``--continue`` and ``--fork``."""
    given = {key: options.get(key) for key in ("session", "resume", "cont") if options.get(key) not in (None, False)}
    if len(given) > 1:
        raise UsageError("use one of --session, --resume and --continue, not several")
    fork_at = _count(options.get("fork_at"))
    wants_fork = options.get("fork") or options.get("fork_at") is not None
    everyone = bool(options.get("all_users"))
    if (wants_fork or everyone) and not given:
        flag = "--fork" if wants_fork else "--all-users"
        raise UsageError(f"{flag} needs a session to open: add --resume ID|NAME, --continue or --session NAME")
    try:
        theirs = False
        if "session" in given:
            start_named(tracker, given["session"])
        elif "resume" in given:
            theirs = open_session(tracker, find(tracker, given["resume"], everyone), everyone)
        elif "cont" in given:
            theirs = open_session(tracker, latest_here(tracker, everyone), everyone)
        if wants_fork or theirs:  # another user's session is never written: go on in a copy of one's own
            tracker.app.ui.info(fork(tracker, fork_at))
    except StoreError as exc:
        raise UsageError(f"{exc}: cannot open a session") from exc


def find(tracker: Tracker, ref: str, everyone: bool = False) -> str:
    """The session ``ref`` names: one of this user's (any user's with ``everyone``; an exact id always)."""
    return lifecycle.find(tracker.store, tracker.archive.archive, ref, owner(), everyone)


def latest_here(tracker: Tracker, everyone: bool = False) -> str:
    rows = lifecycle.here(tracker.store, tracker.place, tracker.cwd, 1, None if everyone else owner())[0]
    if not rows:
        raise UsageError(f"no session to continue in {tracker.cwd}: start one by asking something")
    return rows[0].id


def open_session(tracker: Tracker, session_id: str, everyone: bool = False) -> bool:
    """Make a stored session the current one (it slides its TTL), and say whether the code changed. Another
    user's session is refused in one line, or opened with ``everyone``; True then: the caller forks it."""
    store = tracker.store
    try:
        loaded = store.load(session_id)
        if loaded is None:
            raise UsageError(f"session {session_id} is gone from Redis (expired, evicted or flushed)")
        document = decode(loaded[0])
    except Corrupt as exc:
        where = store.quarantine(session_id)
        raise UsageError(f"session {session_id} could not be used ({exc}); kept as {where}") from exc
    if not everyone:
        lifecycle.check_owner(document, owner(), "add --all-users to go on in a copy of your own (theirs stays as is)")
    if tracker.state.id not in (None, session_id):
        leave(tracker)
    tracker.adopt(document, loaded[1], len(loaded[0]))
    store.touch(session_id)
    tracker.state.announced = True
    tracker.app.ui.info(f"↩️  Resuming session: {session_id} ({len(tracker.state.messages)} messages)")
    _check_stale(tracker, document)
    return not owned_by(document["owner"], owner())


def _check_stale(tracker: Tracker, document: dict[str, Any]) -> None:
    # The same repository (moved, cloned again, on another machine) compares commits; only a session saved
    # before identities were recorded compares the directory.
    theirs = document.get("repository")
    if (theirs != tracker.place) if theirs else (document.get("cwd") != tracker.cwd):
        tracker.app.ui.info(f"this session was started in {document.get('cwd')}; you are in {tracker.cwd}")
        return
    own = workspace.own_edits(document.get("metadata"))  # the agent's edits are no news to it
    changes = workspace.changes(document.get("workspace") or {}, tracker.app.project_dir, own)
    if changes is not None:
        tracker.app.ui.warn(changes.summary())
        tracker.state.note = changes.note()


def start_named(tracker: Tracker, name: str) -> None:
    """``--session NAME``: resume the session with that name, or start one that has it."""
    name = lifecycle.check_name(name)
    store, archive, me = tracker.store, tracker.archive.archive, owner()
    found = store.named(name, me)  # names are per owner: another user's "demo" is not this one
    if found is None and archive is not None and (archived := lifecycle.archived_of(archive, name, me)):
        found = lifecycle.restore(store, archive, archived[0])
    if found is not None:
        open_session(tracker, found)
        return
    # The session exists before its name does: a name always points at a stored session, so two runs
    # starting the same name at once agree on one of them.
    tracker.state = SessionState(id=new_id(), name=name, owner=me, dirty=True)
    tracker.app.conversation = tracker.state.conversation
    if not tracker.save(report=lambda _line: None):
        raise UsageError(f"{tracker.state.problem}: cannot start session {name}")
    if (taken := store.claim_name(tracker.state.id, name, "", me)) is not None:  # type: ignore[arg-type]
        store.delete(tracker.state.id)  # type: ignore[arg-type]
        tracker.state = SessionState(owner=me)
        open_session(tracker, taken)
        return
    tracker.state.announced = True


def rename(tracker: Tracker, name: str) -> str:
    name = lifecycle.check_name(name)
    state = tracker.state
    if state.id is None:
        state.dirty = True
        if not tracker.save(report=lambda _line: None):
            raise UsageError(f"{state.problem}: cannot name this session yet")
        state.announced = True
    if (taken := tracker.store.claim_name(state.id, name, state.name, state.owner)) is not None:  # type: ignore[arg-type]
        raise UsageError(f"the name '{name}' belongs to session {taken}")
    state.name, state.dirty = name, True
    tracker.save()
    return (
        f"This session (`{state.id}`) is now named **{name}**: resume it with "
        f"`agentwinter --session {shlex.quote(name)}`."
    )


def fork(tracker: Tracker, count: int | None = None) -> str:
    """Continue in a copy of this session (cut after ``count`` queries); the original is untouched."""
    state = tracker.state
    if state.id is None or not state.messages:
        raise UsageError("nothing to fork yet: ask something first")
    starts = history.query_starts(state.messages)
    if count is not None and not 0 < count <= len(starts):
        raise UsageError(f"this session has {queries(len(starts))}: fork after 1 to {len(starts)}")
    cut = state.messages if count is None or count == len(starts) else state.messages[: starts[count]]
    old = state.id
    tracker.state = SessionState(
        id=new_id(),
        owner=owner(),
        usage=state.usage,
        conversation=Conversation(list(cut), dict(state.conversation.metadata)),
        dirty=True,
        announced=True,
    )
    tracker.app.conversation = tracker.state.conversation
    tracker.save()
    return f"🍴 Forked `{old}` → `{tracker.state.id}` ({len(cut)} messages); the original is untouched."


def leave(tracker: Tracker) -> None:
    """Before another session becomes current: save what is waiting, archive the one we leave."""
    if tracker.state.dirty and tracker.state.messages and not tracker.save():
        tracker.spill_unsaved()
    tracker.archive.leave(tracker.state.id, tracker.state.version)


def new(tracker: Tracker) -> str:
    old = tracker.state.id
    leave(tracker)
    tracker.state = SessionState(owner=owner())
    if old is None:
        return "A new session starts with your next query."
    return f"A new session starts with your next query. The previous one, `{old}`, stays until it expires."


def _count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"--fork-at takes a number of queries, not {value!r}") from None
