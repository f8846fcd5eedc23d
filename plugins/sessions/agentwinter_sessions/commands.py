"""``!new``, ``!sessions``, ``!cache``, ``!name``, ``!resume``, ``!fork``: markdown for the person at the prompt."""

from __future__ import annotations

import time
from collections.abc import Callable

from agentwinter_sessions import switching
from agentwinter_sessions.tracking import Tracker, owner

ALL_USERS = "--all-users"


def new(tracker: Tracker, args: str = "") -> str:
    return switching.new(tracker)


def sessions(tracker: Tracker, args: str = "") -> str:
    everyone, rest = all_users(args)
    if rest:
        return f"⚠ `!sessions` takes only {ALL_USERS}, not {rest!r}"
    page = tracker.store.listing(None, tracker.settings.list_limit, owner=None if everyone else owner())
    if not page.rows:
        return "No active sessions." + ("" if everyone else f" (`!sessions {ALL_USERS}` lists everyone's)")
    archived = tracker.archive.versions()
    lines = [
        "| | session | name | messages | first query | age | expires in | archived |"
        + (" owner |" if everyone else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if everyone else ""),
    ]
    for row in page.rows:
        meta = row.summary
        mark = "▶" if row.id == tracker.state.id else ""
        query = meta.first_query.replace("|", "\\|")[:50]
        age = duration(time.time() - meta.created) if meta.created else "?"
        lines.append(
            f"| {mark} | `{row.id}` | {meta.name} | {meta.messages} | {query} "
            f"| {age} | {duration(row.ttl)} | {archived_text(archived, row.id)} |"
            + (f" {meta.owner or '-'} |" if everyone else "")
        )
    if page.more:
        lines.append(f"\n…and {page.more} older sessions (`agentwinter sessions list --all` lists them).")
    return "\n".join(lines)


def archived_text(archived: dict[str, int] | None, session_id: str) -> str:
    if archived is None:
        return "—"  # no archive extra installed
    return "yes" if session_id in archived else "not yet"


def name(tracker: Tracker, args: str) -> str:
    if not args.strip():
        current = tracker.state.name
        return f"This session is named **{current}**." if current else "This session has no name: `!name NAME`."
    return switching.rename(tracker, args)


def all_users(args: str) -> tuple[bool, str]:
    """Whether the arguments ask for every user's sessions, and the rest of them."""
    words = args.split()
    return ALL_USERS in words, " ".join(word for word in words if word != ALL_USERS)


def resume(tracker: Tracker, args: str) -> str:
    everyone, ref = all_users(args)
    if switching.open_session(tracker, switching.find(tracker, ref, everyone), everyone):
        return switching.fork(tracker)  # another user's session is never written: a copy of one's own
    return f"Your next query continues session `{tracker.state.id}`."


def fork(tracker: Tracker, args: str) -> str:
    queries = args.strip()
    if queries and not queries.isdigit():
        return "⚠ `!fork` takes the number of queries to keep, e.g. `!fork 3`"
    return switching.fork(tracker, int(queries) if queries else None)


def cache(tracker: Tracker, args: str = "") -> str:
    state = tracker.state
    usage = state.usage
    read, written, uncached = (usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.input_tokens)
    total = read + written + uncached
    billed = uncached + written * 1.25 + read * 0.1
    lines = [
        f"**Prompt cache — session `{state.id or '(none yet)'}`**",
        "",
        f"- cache read: {read:,} tokens · cache write: {written:,} tokens · uncached input: {uncached:,} tokens",
        f"- hit ratio: {read / total:.0%}" if total else "- hit ratio: no queries yet",
        f"- estimated saving: {total - billed:,.0f} input-token equivalents ({(total - billed) / total:.0%})"
        if total
        else "- estimated saving: none yet",
    ]
    from agentwinter_sessions.failures import StoreError

    try:
        figures = tracker.store.figures(state.id or "")
    except StoreError as exc:
        return "\n".join([*lines, f"- store: {exc}"])
    kind = figures["kind"]
    place = (
        "db 0 of a cluster: the `agentwinter:` key prefix keeps sessions apart"
        if kind == "cluster"
        else (f"db {figures['db']}" + (" (through Sentinel)" if kind == "sentinel" else ""))
    )
    lines += [
        "",
        f"**Store** — Redis {figures['redis_version']} at {tracker.settings.where}, {place}",
        "",
        f"- sessions: {figures['sessions']:,} · this session: {figures['bytes']:,} bytes "
        f"· round trip: {figures['latency_ms']:.2f} ms",
    ]
    if state.unsaved:
        lines.append(f"- ⚠ {state.unsaved} queries not saved yet: {state.problem}")
    if figures["evicting"]:
        lines.append(
            f"- ⚠ maxmemory-policy {figures['evicting']}: Redis may evict sessions before they expire (set noeviction)"
        )
    return "\n".join(lines)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


COMMANDS: dict[str, Callable[[Tracker, str], str]] = {
    "new": new,
    "sessions": sessions,
    "cache": cache,
    "name": name,
    "resume": resume,
    "fork": fork,
}
