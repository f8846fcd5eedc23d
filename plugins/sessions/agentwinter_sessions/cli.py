"""``agentwinter sessions ...``: sessions from the shell, scriptable (``--json``, files, exit codes)."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

Ref = Annotated[str, typer.Argument(help="A session id, an unambiguous id prefix, or a name.", metavar="ID|NAME")]
AllUsers = Annotated[bool, typer.Option("--all-users", help="Other users' sessions too (yours only by default).")]


def sessions_cli() -> typer.Typer:
    cli = typer.Typer(no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
    for command in (list_, show, rm, export, import_, search, restore, recover):
        cli.command(command.__name__.strip("_"))(friendly(command))
    return cli


@functools.cache
def settings() -> Any:  # -> Settings, read once per process (its warnings shown once)
    from agentwinter_core.api import load_config
    from agentwinter_sessions.settings import Settings

    return Settings.load(load_config(), lambda m: typer.echo(f"warning: {m}", err=True))


OPENED: list[Any] = []  # the stores this process's command opened: what they set aside is said at the end


class Context:
    """What every sub-command needs: settings, the store, the archive (None without the extra)."""

    def __init__(self) -> None:
        from agentwinter_sessions.tracking import owner

        self.settings = settings()
        self.store = self.settings.store()
        self.owner = owner()  # who runs this: sessions of others are left alone without --all-users
        OPENED.append(self.store)

    @functools.cached_property
    def archive(self) -> Any:
        """The LanceDB archive, or None without the archive extra."""
        from agentwinter_sessions import lifecycle

        return lifecycle.open_archive(self.settings.archive_dir, self.settings.archive)

    def needs_archive(self) -> Any:
        """The archive, with what background archivers left waiting archived first."""
        from agentwinter_core.api import UsageError, redact
        from agentwinter_sessions import archiver, lifecycle
        from agentwinter_sessions.archive import INSTALL_HINT, OFF_HINT

        if self.archive is None:
            raise UsageError(OFF_HINT if lifecycle.archive_installed() else INSTALL_HINT)
        archiver.drain(self.archive)
        for line in archiver.problems(self.settings.archive_dir):
            typer.echo(f"warning: {redact(line)}", err=True)
        return self.archive

    def archived(self) -> dict[str, int] | None:
        """id -> archived version, from the archive's ledger (LanceDB is not imported); None without the extra."""
        from agentwinter_sessions.archive import archived

        return None if self.archive is None else archived(self.settings.archive_dir)

    def find(self, ref: str, everyone: bool = False) -> str:
        from agentwinter_sessions import lifecycle

        return lifecycle.find(self.store, self.archive, ref, self.owner, everyone)

    def document(self, ref: str, everyone: bool = False) -> tuple[dict[str, Any], bytes]:
        """The stored session ``ref`` names, checked; another user's only with ``everyone``."""
        from agentwinter_core.api import UsageError
        from agentwinter_sessions import lifecycle
        from agentwinter_sessions.failures import Corrupt

        session_id = self.find(ref, everyone)
        try:
            loaded = self.store.load(session_id)
            raw = loaded[0].rstrip() if loaded is not None else b""
            document = lifecycle.checked(raw) if loaded is not None else None
        except (UsageError, Corrupt) as exc:
            where = self.store.quarantine(session_id)
            raise UsageError(f"session {session_id} could not be used ({exc}); kept as {where}") from None
        if document is None:
            raise UsageError(f"session {session_id} is gone from Redis (expired, evicted or flushed)")
        if not everyone:
            lifecycle.check_owner(document, self.owner, "add --all-users to see it")
        return document, raw


def friendly(command: Callable[..., None]) -> Callable[..., None]:
    """Mistakes, corrupt data and Redis failures end in one line on stderr and an exit code, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from agentwinter_core.api import UsageError
        from agentwinter_sessions.failures import Corrupt, StoreError

        try:
            command(*args, **kwargs)
        except UsageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except (StoreError, Corrupt) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            for store in OPENED:
                for notice in store.notices():
                    typer.echo(f"warning: {notice}", err=True)

    return run


def list_(
    typer_ctx: typer.Context,
    all_dirs: Annotated[bool, typer.Option("--all", help="Sessions of every directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (0: all of them).")] = 100,
    everyone: AllUsers = False,
) -> None:
    """List your active sessions (default: this directory's), newest first."""
    import orjson

    from agentwinter_sessions import lifecycle, workspace

    ctx = Context()
    here = str(here_dir(typer_ctx))
    owner = None if everyone else ctx.owner
    if all_dirs:
        rows, more = lifecycle.gather(ctx.store, None, limit, owner)
    else:
        rows, more = lifecycle.here(ctx.store, workspace.identity(Path(here)), here, limit, owner)
    archived = ctx.archived()
    rows = [row_of(row, archived) for row in rows]
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        others = "" if everyone else " of yours (--all-users: everyone's)"
        typer.echo("No active sessions" + (others if all_dirs else f" in {here} (--all lists every directory)."))
        return
    columns = ["id", "name", "messages", "updated", "expires_in", "archived", "first_query"]
    shown = {None: "-", True: "yes", False: "no"}
    rows = [{**r, "archived": shown[r["archived"]], "owner": r["owner"] or "-"} for r in rows]
    first = [*(["owner"] if everyone else []), *(["cwd"] if all_dirs else [])]  # whose, where
    from agentwinter_core.api import print_table  # rich: only for a listing

    print_table(
        [[*(r[c] for c in first), *(str(r[c]) for c in columns)] for r in rows],
        [*(["owner"] if everyone else []), *(["directory"] if all_dirs else []), *columns],
    )
    if more:
        typer.echo(f"…and {more} more (--limit 0 lists all)")


def row_of(row: Any, archived: dict[str, int] | None) -> dict[str, Any]:
    from agentwinter_sessions.commands import duration

    meta = row.summary
    return {
        "id": row.id,
        "name": meta.name,
        "cwd": meta.cwd,
        "repository": meta.repository,
        "owner": meta.owner,
        "messages": meta.messages,
        "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.updated)),
        "expires_in": duration(row.ttl),
        "ttl_seconds": row.ttl,
        "archived": None if archived is None else row.id in archived,
        "first_query": meta.first_query,
    }


def show(ref: Ref, everyone: AllUsers = False) -> None:
    """Show one of your sessions: its details, then the conversation as markdown."""
    from agentwinter_sessions import lifecycle
    from agentwinter_sessions.commands import duration

    ctx = Context()
    document, raw = ctx.document(ref, everyone)
    touched = ctx.store.touch(document["id"])  # looking at a session keeps it, like resuming does
    ttl = ctx.settings.ttl_seconds if touched else 0
    archived = (ctx.archived() or {}).get(document["id"], 0) >= document["version"]
    whose = f", of {document['owner']}" if everyone and document["owner"] else ""
    typer.echo(
        f"{document['id']}  {document.get('name') or '-'}  {len(document['messages'])} messages, {len(raw):,} bytes, "
        f"expires in {duration(ttl)}{', archived' if archived else ''}{whose}\n"
    )
    typer.echo(lifecycle.export_markdown(document))


def rm(
    ref: Ref,
    keep_archive: Annotated[
        bool, typer.Option("--keep-archive", help="Keep an archived copy, for sessions restore.")
    ] = False,
    everyone: AllUsers = False,
) -> None:
    """Remove one of your sessions from Redis, and its archived copies unless --keep-archive."""
    from agentwinter_core.api import UsageError
    from agentwinter_sessions import lifecycle
    from agentwinter_sessions.store import owned_by

    ctx = Context()
    live = ctx.store.resolve(ref.strip(), ctx.owner, everyone)
    mine = None if everyone else ctx.owner
    archived = [] if live or ctx.archive is None else lifecycle.archived_of(ctx.archive, ref.strip(), mine)
    if len(live) > 1 or len(archived) > 1:
        raise UsageError(f"'{ref}' matches {len(live) or len(archived)} sessions: give more of the id")
    if not live and not archived:
        ctx.find(ref, everyone)  # says why in one line: gone from Redis, or no such session
    session_id = (live or archived)[0]
    if not everyone and not owned_by(theirs := lifecycle.owner_of(ctx.store, ctx.archive, session_id)[0], ctx.owner):
        raise UsageError(f"session {session_id} belongs to {theirs}, another user: not removed (add --all-users)")
    if keep_archive and ctx.archive is not None:
        lifecycle.archive_one(ctx.store, ctx.archive, session_id)
    elif ctx.archive is not None:
        from agentwinter_sessions import archiver

        archiver.forget(ctx.settings.archive_dir, session_id)  # not archived later by a background archiver
        ctx.archive.remove(session_id)  # removed means gone: --resume must not bring it back from the archive
    if live:
        ctx.store.delete(session_id)
    kept = " (an archived copy stays: sessions restore brings it back)" if keep_archive and ctx.archive else ""
    typer.echo(f"removed {session_id}{kept}")


def export(
    ref: Ref,
    format: Annotated[str, typer.Option("--format", "-f", help="json (lossless) or markdown.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    everyone: AllUsers = False,
) -> None:
    """Export one of your sessions: json to re-import it, markdown to read or share it."""
    from agentwinter_core.api import UsageError
    from agentwinter_sessions import lifecycle

    if format not in ("json", "markdown"):
        raise UsageError(f"--format is json or markdown, not {format!r}")
    document, raw = Context().document(ref, everyone)
    data = raw + b"\n" if format == "json" else lifecycle.export_markdown(document).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        typer.echo(f"exported {document['id']} to {output}", err=True)


def import_(
    typer_ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            help="A file written by `sessions export` (json); with --from, the other agent's transcript "
            "(claude-code: or an id prefix of this directory's).",
            metavar="FILE",
        ),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a live session with the same id.")] = False,
    source: Annotated[
        str | None, typer.Option("--from", help="Another agent's conversation: claude-code or codex.", metavar="AGENT")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="With --from: refuse a file with unreadable lines.")] = False,
    latest: Annotated[bool, typer.Option("--latest", help="With --from claude-code: this directory's latest.")] = False,
) -> None:
    """Import a session exported as json (checked first, refused when invalid), or another agent's conversation."""
    from agentwinter_core.api import UsageError
    from agentwinter_sessions import lifecycle

    if source is not None:
        import_foreign(source, file, strict, latest, here_dir(typer_ctx))
        return
    if file is None:
        raise UsageError("which file? give a file written by `sessions export`, or --from claude-code|codex")
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from exc
    ctx = Context()
    session_id, note = lifecycle.import_file(ctx.store, raw.strip(), replace, ctx.owner)
    typer.echo(f"{note}: {session_id} (resume it with agentwinter --resume {session_id})")


def here_dir(typer_ctx: typer.Context) -> Path:
    return ((typer_ctx.find_root().obj or {}).get("project_dir") or Path.cwd()).resolve()


def import_foreign(source: str, ref: str | None, strict: bool, latest: bool, here: Path) -> None:
    """``import --from claude-code|codex``: a transcript made into a new session of this directory."""
    from agentwinter_core.api import UsageError
    from agentwinter_sessions import foreign, lifecycle, workspace

    looks_like_file = ref is not None and (Path(ref).is_file() or "/" in ref or ref.endswith(".jsonl"))
    path = Path(ref) if ref is not None and (source != "claude-code" or looks_like_file) else None
    if source == "claude-code" and path is None:
        path = foreign.pick_claude(here, ref, latest)
        if path is None:
            list_transcripts(here)
            return
    if path is None:
        raise UsageError(f"which file? give the {source} transcript to import")
    imported = foreign.read(source, path, strict)
    for problem in imported.problems:
        typer.echo(f"warning: {path} {problem}: skipped", err=True)
    raw = foreign.document(imported, str(here), workspace.identity(here))
    ctx = Context()
    session_id, note = lifecycle.import_file(ctx.store, raw, False, ctx.owner)
    skipped = f"; left out: {imported.skipped_text()}" if imported.skipped else ""
    typer.echo(
        f"{note}: {session_id} ({imported.name}, {len(imported.messages)} messages{skipped}); "
        f"resume it with agentwinter --resume {session_id}"
    )


def list_transcripts(here: Path) -> None:
    from agentwinter_sessions import foreign

    found = foreign.claude_transcripts(here)
    if not found:
        typer.echo(f"No Claude Code transcripts for {here} in {foreign.claude_projects()}.")
        return
    rows = [
        [
            p.stem,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime)),
            f"{p.stat().st_size:,}",
            foreign.first_prompt(p),
        ]
        for p in found
    ]
    from agentwinter_core.api import print_table

    print_table(rows, ["id", "updated", "bytes", "first_prompt"])
    typer.echo("Import one with: agentwinter sessions import --from claude-code ID (an id prefix) or --latest")


def search(
    text: Annotated[str, typer.Argument(help="Words to look for in questions, answers and tool output.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    everyone: AllUsers = False,
) -> None:
    """Find your live and archived sessions by content (live ones are archived first, so one index serves both)."""
    import orjson

    from agentwinter_sessions import lifecycle
    from agentwinter_sessions.store import owned_by

    ctx = Context()
    archive = ctx.needs_archive()
    mine = None if everyone else ctx.owner
    lifecycle.sweep(ctx.store, archive, 10**9, mine)  # every live session not archived at its version yet
    found = archive.search(text)
    owners = {hit.id: lifecycle.owner_of(ctx.store, archive, hit.id) for hit in found}
    found = [hit for hit in found if mine is None or owned_by(owners[hit.id][0], mine)]
    hits = [{**vars(hit), "live": owners[hit.id][1], "owner": owners[hit.id][0]} for hit in found]
    if as_json:
        typer.echo(orjson.dumps(hits, option=orjson.OPT_INDENT_2).decode())
    elif not hits:
        typer.echo(f"No session mentions {text!r}.")
    for hit in [] if as_json else hits:
        state = "live" if hit["live"] else "archived (sessions restore brings it back)"
        whose = f"  {hit['owner'] or '-'}" if everyone else ""
        typer.echo(f"{hit['id']}  {hit['name'] or '-'}{whose}  {state}\n    {hit['snippet']}")


def restore(ref: Ref, everyone: AllUsers = False) -> None:
    """Put one of your archived sessions back into Redis, resumable with --resume."""
    from agentwinter_sessions import lifecycle

    ctx = Context()
    archive = ctx.needs_archive()
    ids = lifecycle.archived_of(archive, ref.strip(), None if everyone else ctx.owner)
    if len(ids) != 1:
        from agentwinter_core.api import UsageError

        raise UsageError(f"'{ref}' matches {len(ids)} archived sessions" + (": give more of the id" if ids else ""))
    session_id = lifecycle.restore(ctx.store, archive, ids[0])
    typer.echo(f"restored {session_id}: resume it with agentwinter --resume {session_id}")


def recover() -> None:
    """Upload the sessions kept in local files while Redis was unreachable."""
    from agentwinter_sessions import spill
    from agentwinter_sessions.failures import Corrupt

    ctx = Context()
    paths = spill.waiting(ctx.settings.spill_dir)
    if not paths:
        typer.echo("Nothing to recover: every session reached Redis.")
    for path in paths:
        try:
            done = spill.recover(ctx.store, path)
        except Corrupt as exc:
            typer.echo(f"warning: {path} is not a session ({exc}); kept as {path.with_suffix('.corrupt')}", err=True)
            continue
        typer.echo(f"uploaded {done.id} from {path} ({done.note})")
