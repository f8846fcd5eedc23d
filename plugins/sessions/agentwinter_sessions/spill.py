"""Sessions that could not reach Redis before the process ended: kept in files, uploaded later.

One file per session in the data directory (``unsaved/<id>.json``, mode 0600): the document as it would
have been stored. ``recover`` uploads it when Redis is back — onto the stored session when nobody changed
it since, else as a new session — and removes the file only once it is stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from agentwinter_sessions.document import decode, new_id, summary_of
from agentwinter_sessions.failures import Corrupt, Locked
from agentwinter_sessions.store import SessionStore


@dataclass
class Recovered:
    path: Path
    id: str
    note: str


def write(directory: Path, session_id: str, raw: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{session_id}.json"
    temporary = path.with_suffix(f".{os.getpid()}.tmp")  # two processes writing one file never mix
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    temporary.replace(path)
    return path


def waiting(directory: Path, pattern: str = "session*.json") -> list[Path]:
    """The files kept in ``directory`` (none when it cannot be read)."""
    try:
        return sorted(directory.glob(pattern))
    except OSError:
        return []


def recover(store: SessionStore, path: Path) -> Recovered:
    """Upload one file; Corrupt when it is not a session (the file is then renamed ``.corrupt``)."""
    try:
        document = decode(path.read_bytes(), repair=False)
    except Corrupt:
        path.replace(path.with_suffix(".corrupt"))
        raise
    session_id = document["id"]
    try:
        stored = store.load(session_id)
        theirs = decode(stored[0])["messages"] if stored is not None else []
    except Locked:  # sealed with a key this run lacks: left as it is, ours goes beside it
        stored, theirs = None, None
    if theirs is not None and document["messages"][: len(theirs)] == theirs:  # ours only adds: put it on top
        version = stored[1] + 1 if stored is not None else int(document.get("version") or 1)
        raw = orjson.dumps({**document, "version": version})
        if store.save(
            session_id, raw, version, version - 1 if stored is not None else None, summary_of(document, len(raw))
        ):
            path.unlink()
            return Recovered(path, session_id, "saved")
    # Another terminal carried the session on meanwhile: keep both; the name stays with the stored one.
    document = {**document, "id": new_id(), "name": "", "version": 1}
    raw = orjson.dumps(document)
    store.save(document["id"], raw, 1, None, summary_of(document, len(raw)))
    path.unlink()
    return Recovered(path, document["id"], f"saved as a new session ({session_id} changed meanwhile)")
