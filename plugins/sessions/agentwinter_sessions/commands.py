"""``!new``, ``!sessions`` and ``!cache``: markdown for the person at the prompt."""

from __future__ import annotations

import time

import orjson

from agentwinter_sessions import lifecycle
from agentwinter_sessions.errors import Offline
from agentwinter_sessions.session import Tracker
from agentwinter_sessions.settings import redact


def new(tracker: Tracker, args: str = "") -> str:
    old = tracker.id
    tracker.archive_current()
    tracker.reset()
    if old is None:
        return "A new session starts with your next query."
    return f"A new session starts with your next query. The previous one, `{old}`, stays until it expires."


def sessions(tracker: Tracker, args: str = "") -> str:
    try:
        listing = tracker.call("listing", tracker.settings.list_limit)
    except Offline:
        return f"Redis at {redact(tracker.settings.redis_url)} is unreachable: no session list."
    if not listing.rows:
        return "No active sessions."
    archived = tracker.archived()
    lines = [
        "| | session | name | messages | first query | age | expires in | archived |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for session_id, expiry, raw in listing.rows:
        meta = orjson.loads(raw) if raw else {}
        mark = "▶" if session_id == tracker.id else ""
        query = str(meta.get("first_query", "")).replace("|", "\\|")[:50]
        age = duration(time.time() - float(meta.get("created") or time.time()))
        lines.append(
            f"| {mark} | `{session_id}` | {meta.get('name', '')} | {meta.get('messages', '?')} | {query} "
            f"| {age} | {duration(expiry - listing.now)} | {archived_text(archived, session_id)} |"
        )
    if listing.total > len(listing.rows):
        lines.append(f"\n…and {listing.total - len(listing.rows)} older sessions.")
    return "\n".join(lines)


def archived_text(archived: dict[str, int] | None, session_id: str) -> str:
    if archived is None:
        return "—"  # no archive extra installed
    return "yes" if session_id in archived else "not yet"


def name(tracker: Tracker, args: str) -> str:
    if not args.strip():
        return (
            f"This session is named **{tracker.name}**." if tracker.name else "This session has no name: `!name NAME`."
        )
    return tracker.rename(args)


def resume(tracker: Tracker, args: str) -> str:
    tracker.open(lifecycle.find(tracker.store, tracker.archive, args, tracker.ttl))
    return f"Your next query continues session `{tracker.id}`."


def fork(tracker: Tracker, args: str) -> str:
    queries = args.strip()
    if queries and not queries.isdigit():
        return "⚠ `!fork` takes the number of queries to keep, e.g. `!fork 3`"
    return tracker.fork(int(queries) if queries else None)


def cache(tracker: Tracker, args: str = "") -> str:
    usage = tracker.usage
    read, written, uncached = (usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.input_tokens)
    total = read + written + uncached
    billed = uncached + written * 1.25 + read * 0.1
    lines = [
        f"**Prompt cache — session `{tracker.id or '(none yet)'}`**",
        "",
        f"- cache read: {read:,} tokens · cache write: {written:,} tokens · uncached input: {uncached:,} tokens",
        f"- hit ratio: {read / total:.0%}" if total else "- hit ratio: no queries yet",
        f"- estimated saving: {total - billed:,.0f} input-token equivalents ({(total - billed) / total:.0%})"
        if total
        else "- estimated saving: none yet",
    ]
    try:
        figures = tracker.call("figures", tracker.id or "")
    except Offline:
        return "\n".join([*lines, f"- store: Redis at {redact(tracker.settings.redis_url)} is unreachable"])
    lines += [
        "",
        f"**Store** — Redis {figures['redis_version']} at {redact(tracker.settings.redis_url)}",
        "",
        f"- sessions: {figures['sessions']:,} · this session: {figures['bytes']:,} bytes "
        f"· round trip: {figures['latency_ms']:.2f} ms",
    ]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
