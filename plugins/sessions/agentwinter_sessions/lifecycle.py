"""Sessions beyond one run: names, finding a session by id/name/prefix, archive, restore, import, export.

Plain functions over a ``Store`` and an optional ``Archive``, shared by the REPL commands and the
``agentwinter sessions`` command line. Problems a person can fix raise ``UsageError`` with one line.
"""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from pathlib import Path
from typing import Any

import orjson

from agentwinter_core.api import UsageError, history
from agentwinter_sessions.archive import INSTALL_HINT
from agentwinter_sessions.document import FORMAT, decode, new_id, summary_of
from agentwinter_sessions.failures import Corrupt, Locked
from agentwinter_sessions.store import Row, SessionStore, owned_by

MAX_NAME = 64
ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def check_name(name: str) -> str:
    """The name, stripped; UsageError when it cannot be a session name."""
    name = name.strip()
    if not name:
        raise UsageError("a session name cannot be empty")
    if len(name) > MAX_NAME:
        raise UsageError(f"a session name has at most {MAX_NAME} characters ({len(name)} given)")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        raise UsageError("a session name cannot contain control characters")
    if name.startswith("session-"):
        raise UsageError("a session name cannot start with 'session-' (ids do)")
    return name


def here(store: SessionStore, place: str, cwd: str, limit: int, owner: str | None = None) -> tuple[list[Row], int]:
    """This directory's sessions (of ``owner``, or everyone's: None), newest first, and how many more: those
    of its repository identity, with the ones saved before identities were recorded (indexed by the directory
    alone)."""
    rows, more = gather(store, place, limit, owner)
    if place != cwd:
        older, more_older = gather(store, cwd, limit, owner)
        rows = sorted(rows + [r for r in older if not r.summary.repository], key=lambda r: -r.summary.updated)
        more += more_older
        if limit and len(rows) > limit:
            more, rows = more + len(rows) - limit, rows[:limit]
    return rows, more


def gather(store: SessionStore, place: str | None, limit: int, owner: str | None = None) -> tuple[list[Row], int]:
    """Up to ``limit`` sessions (0: all) of a place or of all (None), of ``owner`` or everyone's (None), in
    pages of at most 500 so a big listing never blocks the store; and how many more there are."""
    rows: list[Row] = []
    more = 0
    while limit == 0 or len(rows) < limit:
        page = store.listing(place, 500 if limit == 0 else min(500, limit - len(rows)), len(rows), owner)
        rows += page.rows
        more = page.more
        if not page.more or not page.rows:
            break
    return rows, more


def archive_installed() -> bool:
    # Only look: importing lancedb takes ~1.8 s, which belongs in a background archiver, not before a query.
    return importlib.util.find_spec("lancedb") is not None


def open_archive(directory: Path, enabled: bool = True) -> Any:
    """The archive, or None when it is turned off or LanceDB is not installed."""
    os.environ.setdefault("LANCE_LOG", "error")  # lance's Rust warnings would land in the person's terminal
    if not enabled or not archive_installed():
        return None
    from agentwinter_sessions.archive import Archive

    return Archive(directory)


def find(store: SessionStore, archive: Any, ref: str, owner: str = "", everyone: bool = True) -> str:
    """The live session ``ref`` names (one of ``owner``'s names, an id, or an id prefix of ``owner``'s
    sessions, of anyone's with ``everyone``), restoring it from the archive when it has expired from Redis.
    An exact id is found whoever it belongs to: the caller says whose it is (``check_owner``)."""
    ref = ref.strip()
    if not ref:
        raise UsageError("which session? give an id, an id prefix or a name")
    ids = store.resolve(ref, owner, everyone)
    if len(ids) == 1:
        return ids[0]
    if len(ids) > 1:
        raise UsageError(f"'{ref}' matches {len(ids)} sessions ({', '.join(ids[:4])}…): give more of the id")
    archived = archived_of(archive, ref, None if everyone else owner) if archive is not None else []
    if len(archived) > 1:
        raise UsageError(f"'{ref}' matches {len(archived)} archived sessions: give more of the id")
    if archived:
        return restore(store, archive, archived[0])
    missing = archive is None and not archive_installed()  # (an archive turned off needs no hint)
    hint = f" (archived sessions are not searched: {INSTALL_HINT})" if missing else ""
    if gone := store.vanished(ref, owner):
        raise UsageError(f"session {gone} is gone from Redis (expired, evicted or flushed){hint}")
    raise UsageError(f"no session matches '{ref}'{hint}")


def archived_of(archive: Any, ref: str, owner: str | None) -> list[str]:
    """Archived ids that ``ref`` names (``Archive.find``), of ``owner`` (and unowned ones) or anyone's (None).
    The archive is local, but a search of every user's sessions (``--all-users``) archives theirs too."""
    ids = archive.find(ref)
    if owner is None:
        return ids
    return [i for i in ids if (raw := archive.latest(i)) is not None and owned_by(_owner_of(raw), owner)]


def owner_of(store: SessionStore, archive: Any, session_id: str) -> tuple[str, bool]:
    """Whose a session is (from Redis, else its latest archived copy), and whether it is live."""
    loaded = store.load(session_id)
    raw = loaded[0] if loaded is not None else archive.latest(session_id) if archive is not None else None
    return (_owner_of(raw) if raw is not None else ""), loaded is not None


def _owner_of(raw: bytes) -> str:
    try:
        return decode(raw, repair=False)["owner"]
    except Corrupt:
        return ""


def check_owner(document: dict[str, Any], owner: str, hint: str) -> None:
    """UsageError, in one line, when the session is another user's; ``hint`` says how to open it anyway."""
    theirs = document.get("owner") or ""
    if not owned_by(theirs, owner):
        raise UsageError(f"session {document['id']} belongs to {theirs}, another user: {hint}")


def restore(store: SessionStore, archive: Any, session_id: str) -> str:
    """Put the latest archived version of a session back into Redis; its id."""
    raw = archive.latest(session_id)
    if raw is None:
        raise UsageError(f"no archived session {session_id}")
    document = checked(raw)
    if store.load(session_id) is not None:
        return session_id  # still (or again) in Redis: nothing to restore
    put(store, document, raw)
    return session_id


def put(store: SessionStore, document: dict[str, Any], raw: bytes) -> None:
    """Store a finished document as is (its bytes, its version), whatever is stored under its id."""
    raw = raw.rstrip()
    store.save(document["id"], raw, int(document.get("version") or 1), None, summary_of(document, len(raw)))
    if document.get("name"):
        store.claim_name(document["id"], document["name"], "", document.get("owner") or "")


def checked(raw: bytes) -> dict[str, Any]:
    """A stored or imported document the API will accept as is; UsageError saying what is wrong."""
    try:
        document = decode(raw, repair=False)  # an import is refused, not silently repaired
    except Corrupt as exc:
        raise UsageError(f"not a session: {exc}") from exc
    if problems := history.problems(document["messages"]):
        raise UsageError(f"not a valid session history: {problems[0]}")
    if not set(document["id"]) <= ID_CHARACTERS or len(document["id"]) > 128:
        raise UsageError(f"not a session: the id {document['id'][:40]!r} has characters ids cannot have")
    return document


def import_file(store: SessionStore, raw: bytes, replace: bool, owner: str = "") -> tuple[str, str]:
    """Import an exported session as ``owner``'s: (id, what happened). A new id on collision unless
    ``replace``, and always when the stored one is another user's (never overwritten)."""
    document = checked(raw)
    note = "imported"
    if owner and document["owner"] != owner:  # whoever imports a session keeps it
        document = {**document, "owner": owner}
        raw = orjson.dumps(document)
    stored = store.load(document["id"])
    theirs = stored is not None and not owned_by(_owner_of(stored[0]), owner)
    if stored is not None and (theirs or not replace):
        old = document["id"]
        document = {**document, "id": new_id(), "name": "", "version": 1}
        raw = orjson.dumps(document)
        why = "belongs to another user" if theirs else "exists; --replace overwrites it"
        note = f"imported as a new session ({old} {why})"
    elif document.get("name") and store.claim_name(document["id"], document["name"], "", owner) is not None:
        document = {**document, "name": ""}
        raw = orjson.dumps(document)
        note = "imported without its name (another live session has it)"
    put(store, document, raw)
    return document["id"], note


def archive_one(store: SessionStore, archive: Any, session_id: str) -> bool:
    """Archive the stored version of one session; False when there was nothing new to archive."""
    try:
        loaded = store.load(session_id)
        if loaded is None:
            return False
        raw = loaded[0]
        document = decode(raw)
    except Corrupt:
        return False  # quarantined when someone next opens it; nothing sensible to archive
    except Locked:
        return False  # sealed with a key this run lacks: a run that has it archives it
    return archive.put(document, raw.rstrip())


def unarchived(store: SessionStore, archived: dict[str, int], within: int, owner: str | None) -> list[str]:
    """The sessions (of ``owner``, or everyone's: None) that expire within ``within`` seconds at a version
    ``archived`` (id -> version) lacks."""
    return [i for i, version in store.expiring(within, owner) if archived.get(i, 0) < version]


def sweep(store: SessionStore, archive: Any, within: int, owner: str | None = None) -> int:
    """Archive every session (of ``owner``, or everyone's: None) that expires within ``within`` seconds and
    is not archived at its version."""
    return sum(archive_one(store, archive, i) for i in unarchived(store, archive.versions(), within, owner))


def export_markdown(document: dict[str, Any]) -> str:
    """A readable transcript: questions and answers in full, tool calls folded, tool output shortened."""
    lines = [f"# {document.get('name') or document['id']}", ""]
    lines += [f"- id: `{document['id']}`", f"- directory: `{document.get('cwd', '')}`"]
    lines += [f"- model: {document.get('model', '')}", f"- format: {document.get('format', FORMAT)}"]
    if origin := _origin(document):
        lines.append(f"- {origin}")
    lines.append("")
    lines += _edits_markdown(document)
    results = {  # each call is shown with its own result, so parallel calls do not nest
        block.get("tool_use_id"): block
        for message in document["messages"]
        for block in history.blocks(message)
        if block.get("type") == "tool_result"
    }
    for message in document["messages"]:
        for block in history.blocks(message):
            lines += _markdown_block(message["role"], block, results)
    return "\n".join(lines).rstrip() + "\n"


def _origin(document: dict[str, Any]) -> str:
    """Where an imported session came from ('' for one started here)."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or "origin" not in metadata:
        return ""
    from agentwinter_sessions.foreign import origin_text

    return origin_text(metadata["origin"])


def _edits_markdown(document: dict[str, Any]) -> list[str]:
    """The files each query changed, as the core records them in the metadata."""
    metadata = document.get("metadata")
    entries = metadata.get("edits") if isinstance(metadata, dict) else None
    starts = history.query_starts(document["messages"])
    lines = []
    for entry in entries if isinstance(entries, list) else ():
        query, files = (entry.get("query"), entry.get("files")) if isinstance(entry, dict) else (None, None)
        if isinstance(query, int) and 0 <= query < len(starts) and isinstance(files, dict) and files:
            texts = [b.get("text", "") for b in history.blocks(document["messages"][starts[query]]) if "text" in b]
            asked = texts[-1] if texts else ""  # the query is the last text: a resume note may come first
            names = ", ".join(f"`{name}`" for name in sorted(map(str, files)))
            lines.append(f"- query {query + 1} ({_short(str(asked).strip(), 60)}): {names}")
    return ["## Files the agent changed", "", *lines, ""] if lines else []


def _markdown_block(role: str, block: dict[str, Any], results: dict[Any, dict[str, Any]]) -> list[str]:
    kind = block.get("type")
    if kind == "text":
        return [f"## {'You' if role == 'user' else 'Claude'}", "", block.get("text", ""), ""]
    if kind != "tool_use":
        return []  # results come with their calls; thinking and other blocks are not part of the transcript
    call = orjson.dumps(block.get("input", {})).decode()
    lines = [f"<details><summary>🔧 {block.get('name')} <code>{_short(call, 100)}</code></summary>", ""]
    if (result := results.get(block.get("id"))) is not None:
        output = _result_text(result.get("content"))
        label = "error" if result.get("is_error") else f"{len(output):,} characters"
        lines += ["```", _short(output, 600), "```", f"({label})"]
    return [*lines, "</details>", ""]


def _result_text(content: Any) -> str:
    return "\n".join(
        b.get("text", "") if b.get("type") == "text" else "[image]" for b in history.content_blocks(content)
    )


def _short(text: str, limit: int) -> str:
    text = text.replace("```", "ʼʼʼ")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more characters)"
