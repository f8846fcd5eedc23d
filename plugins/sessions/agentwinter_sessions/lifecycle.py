"""Sessions beyond one run: names, finding a session by id/name/prefix, archive, restore, import, export.

Plain functions over a ``Store`` and an optional ``Archive``, shared by the REPL commands and the
``agentwinter sessions`` command line. Problems a person can fix raise ``UsageError`` with one line.
"""

from __future__ import annotations

import importlib.util
import os
import time
import unicodedata
from pathlib import Path
from typing import Any

import orjson

from agentwinter_core import history
from agentwinter_core.state import UsageError
from agentwinter_sessions.archive import INSTALL_HINT
from agentwinter_sessions.document import FORMAT, CorruptSession, Write, decode, first_query, new_id

MAX_NAME = 64


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


def open_archive(directory: Path) -> Any:
    """The archive, or None when LanceDB is not installed."""
    os.environ.setdefault("LANCE_LOG", "error")  # lance's Rust warnings would land in the person's terminal
    # Only look: importing lancedb takes ~1.8 s, which belongs in the sweep thread, not before a query.
    if importlib.util.find_spec("lancedb") is None:
        return None
    from agentwinter_sessions.archive import Archive

    return Archive(directory)


def find(store: Any, archive: Any, ref: str, ttl: int) -> str:
    """The live session ``ref`` names (an id, a name or an id prefix), restoring it from the archive
    when it has expired from Redis."""
    ref = ref.strip()
    if not ref:
        raise UsageError("which session? give an id, an id prefix or a name")
    ids = store.resolve(ref)
    if len(ids) == 1:
        return ids[0]
    if len(ids) > 1:
        raise UsageError(f"'{ref}' matches {len(ids)} sessions ({', '.join(ids[:4])}…): give more of the id")
    archived = archive.find(ref) if archive is not None else []
    if len(archived) > 1:
        raise UsageError(f"'{ref}' matches {len(archived)} archived sessions: give more of the id")
    if archived:
        return restore(store, archive, archived[0], ttl)
    hint = "" if archive is not None else f" (archived sessions are not searched: {INSTALL_HINT})"
    raise UsageError(f"no session matches '{ref}'{hint}")


def restore(store: Any, archive: Any, session_id: str, ttl: int) -> str:
    """Put the latest archived version of a session back into Redis; its id."""
    raw = archive.latest(session_id)
    if raw is None:
        raise UsageError(f"no archived session {session_id}")
    document = checked(raw)
    if store.live([session_id]):
        return session_id  # still (or again) in Redis: nothing to restore
    put(store, document, raw, ttl)
    return session_id


def put(store: Any, document: dict[str, Any], raw: bytes, ttl: int) -> None:
    """Store a finished document as is (its bytes, its version)."""
    write = Write.of(raw.rstrip(), int(document.get("version") or 1))
    store.save(document["id"], "*", write, ttl, summary(document, write.length), document.get("cwd", ""))
    if document.get("name"):
        store.name(document["id"], document["name"], "")


def checked(raw: bytes) -> dict[str, Any]:
    """A stored or imported document the API will accept as is; UsageError saying what is wrong."""
    try:
        document = decode(raw, repair=False)  # an import is refused, not silently repaired
    except CorruptSession as exc:
        raise UsageError(f"not a session: {exc}") from exc
    if problems := history.problems(document["messages"]):
        raise UsageError(f"not a valid session history: {problems[0]}")
    if not isinstance(document.get("id"), str) or not document["id"]:
        raise UsageError("not a session: no id")
    return document


def import_file(store: Any, raw: bytes, ttl: int, replace: bool) -> tuple[str, str]:
    """Import an exported session: (id, what happened). A new id on collision unless ``replace``."""
    document = checked(raw)
    note = "imported"
    if store.live([document["id"]]) and not replace:
        old = document["id"]
        document = {**document, "id": new_id(), "name": "", "version": 1}
        raw = orjson.dumps(document)
        note = f"imported as a new session ({old} exists; --replace overwrites it)"
    elif document.get("name") and store.name(document["id"], document["name"], "") is not None:
        document = {**document, "name": ""}
        raw = orjson.dumps(document)
        note = "imported without its name (another live session has it)"
    put(store, document, raw, ttl)
    return document["id"], note


def summary(document: dict[str, Any], size: int) -> bytes:
    """The listing summary stored beside a session (what ``!sessions`` shows without loading it)."""
    messages = document.get("messages", [])
    return orjson.dumps(
        {
            "name": document.get("name", ""),
            "messages": len(messages),
            "first_query": first_query(messages),
            "created": document.get("created", time.time()),
            "updated": document.get("updated", time.time()),
            "cwd": document.get("cwd", ""),
            "bytes": size,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def archive_one(store: Any, archive: Any, session_id: str) -> bool:
    """Archive the stored version of one session; False when there was nothing new to archive."""
    raw = store.load(session_id)
    if raw is None:
        return False
    try:
        document = decode(raw)
    except CorruptSession:
        return False  # quarantined when someone next opens it; nothing sensible to archive
    return archive.put(document, raw.rstrip())


def sweep(store: Any, archive: Any, within: int) -> int:
    """Archive every session that expires within ``within`` seconds and is not archived at its version."""
    archived = archive.versions()
    done = 0
    for session_id, version in store.expiring(within):
        if archived.get(session_id, 0) < version and archive_one(store, archive, session_id):
            done += 1
    return done


def export_markdown(document: dict[str, Any]) -> str:
    """A readable transcript: questions and answers in full, tool calls folded, tool output shortened."""
    lines = [f"# {document.get('name') or document['id']}", ""]
    lines += [f"- id: `{document['id']}`", f"- directory: `{document.get('cwd', '')}`"]
    lines += [f"- model: {document.get('model', '')}", f"- format: {document.get('format', FORMAT)}", ""]
    for message in document["messages"]:
        for block in history.blocks(message):
            lines += _markdown_block(message["role"], block)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_block(role: str, block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "text":
        return [f"## {'You' if role == 'user' else 'Claude'}", "", block.get("text", ""), ""]
    if kind == "tool_use":
        call = orjson.dumps(block.get("input", {})).decode()
        return [f"<details><summary>🔧 {block.get('name')} <code>{_short(call, 100)}</code></summary>", ""]
    if kind == "tool_result":
        output = _result_text(block.get("content"))
        label = "error" if block.get("is_error") else f"{len(output):,} characters"
        return ["```", _short(output, 600), "```", f"({label})", "</details>", ""]
    return []  # thinking and other blocks are not part of the transcript


def _result_text(content: Any) -> str:
    return "\n".join(
        b.get("text", "") if b.get("type") == "text" else "[image]" for b in history.content_blocks(content)
    )


def _short(text: str, limit: int) -> str:
    text = text.replace("```", "ʼʼʼ")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more characters)"
