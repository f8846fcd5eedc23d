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


def sessions_cli() -> typer.Typer:
    cli = typer.Typer(no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
    for command in (list_, show, rm, export, import_, search, restore):
        cli.command(command.__name__.strip("_"))(friendly(command))
    return cli


@functools.cache
def settings() -> Any:  # -> Settings, read once per process (its warnings shown once)
    from agentwinter_core.config import load_config
    from agentwinter_sessions.settings import Settings

    return Settings.load(load_config().section("sessions"), lambda m: typer.echo(f"warning: {m}", err=True))


class Context:
    """What every sub-command needs: settings, the store, the archive (None without the extra)."""

    def __init__(self) -> None:
        from agentwinter_sessions.store import Store

        self.settings = settings()
        self.store = Store(self.settings.redis_url)

    @functools.cached_property
    def archive(self) -> Any:
        """The LanceDB archive, or None without the archive extra."""
        from agentwinter_sessions import lifecycle

        return lifecycle.open_archive(self.settings.archive_dir)

    def needs_archive(self) -> Any:
        from agentwinter_core.state import UsageError
        from agentwinter_sessions.archive import INSTALL_HINT

        if self.archive is None:
            raise UsageError(INSTALL_HINT)
        return self.archive

    def find(self, ref: str) -> str:
        from agentwinter_sessions import lifecycle

        return lifecycle.find(self.store, self.archive, ref, self.settings.ttl_seconds)

    def document(self, ref: str) -> tuple[dict[str, Any], bytes]:
        from agentwinter_sessions import lifecycle

        session_id = self.find(ref)
        raw = (self.store.load(session_id) or b"").rstrip()
        return lifecycle.checked(raw), raw


def friendly(command: Callable[..., None]) -> Callable[..., None]:
    """Mistakes and outages end in one line on stderr and an exit code, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from agentwinter_core.state import UsageError
        from agentwinter_sessions.settings import redact
        from agentwinter_sessions.store import Unavailable

        try:
            command(*args, **kwargs)
        except UsageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Unavailable as exc:
            url = redact(settings().redis_url)
            typer.echo(f"error: Redis at {url} is unreachable ({type(exc).__name__})", err=True)
            raise typer.Exit(1) from None

    return run


def list_(
    typer_ctx: typer.Context,
    all_dirs: Annotated[bool, typer.Option("--all", help="Sessions of every directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List active sessions (default: this directory's), newest first."""
    import orjson

    ctx = Context()
    here = str(((typer_ctx.find_root().obj or {}).get("project_dir") or Path.cwd()).resolve())
    listing = ctx.store.listing(10_000, b"" if all_dirs else b'"cwd":' + orjson.dumps(here))
    archived = ctx.archive.versions() if ctx.archive is not None else None
    rows = [row_of(session_id, expiry, raw, listing.now, archived) for session_id, expiry, raw in listing.rows]
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        typer.echo("No active sessions" + ("." if all_dirs else f" in {here} (--all lists every directory)."))
        return
    columns = ["id", "name", "messages", "updated", "expires_in", "archived", "first_query"]
    shown = {None: "-", True: "yes", False: "no"}
    rows = [{**r, "archived": shown[r["archived"]]} for r in rows]
    table(
        [[*([r["cwd"]] if all_dirs else []), *(str(r[c]) for c in columns)] for r in rows],
        [*(["directory"] if all_dirs else []), *columns],
    )


def row_of(session_id: str, expiry: int, raw: bytes, now: int, archived: dict[str, int] | None) -> dict[str, Any]:
    import orjson

    from agentwinter_sessions.commands import duration

    meta = orjson.loads(raw) if raw else {}
    return {
        "id": session_id,
        "name": meta.get("name", ""),
        "cwd": meta.get("cwd", ""),
        "messages": meta.get("messages", 0),
        "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(float(meta.get("updated") or 0))),
        "expires_in": duration(expiry - now),
        "expires_at": expiry,
        "archived": None if archived is None else session_id in archived,
        "first_query": meta.get("first_query", ""),
    }


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def show(ref: Ref) -> None:
    """Show a session: its details, then the conversation as markdown."""
    from agentwinter_sessions import lifecycle
    from agentwinter_sessions.commands import duration

    ctx = Context()
    document, raw = ctx.document(ref)
    ttl = ctx.store.client.ttl(f"agentwinter:session:{document['id']}")
    archived = ctx.archive is not None and ctx.archive.versions().get(document["id"], 0) >= document["version"]
    typer.echo(
        f"{document['id']}  {document.get('name') or '-'}  {len(document['messages'])} messages, {len(raw):,} bytes, "
        f"expires in {duration(ttl)}{', archived' if archived else ''}\n"
    )
    typer.echo(lifecycle.export_markdown(document))


def rm(ref: Ref) -> None:
    """Remove a session from Redis (archived first when the archive is installed)."""
    from agentwinter_sessions import lifecycle

    ctx = Context()
    session_id = ctx.find(ref)
    document, _ = ctx.document(session_id)
    kept = ctx.archive is not None and (lifecycle.archive_one(ctx.store, ctx.archive, session_id) or True)
    ctx.store.remove(session_id, document.get("name", ""))
    typer.echo(f"removed {session_id}" + (" (an archived copy stays: sessions restore brings it back)" if kept else ""))


def export(
    ref: Ref,
    format: Annotated[str, typer.Option("--format", "-f", help="json (lossless) or markdown.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Export a session: json to re-import it, markdown to read or share it."""
    from agentwinter_core.state import UsageError
    from agentwinter_sessions import lifecycle

    if format not in ("json", "markdown"):
        raise UsageError(f"--format is json or markdown, not {format!r}")
    document, raw = Context().document(ref)
    data = raw + b"\n" if format == "json" else lifecycle.export_markdown(document).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        typer.echo(f"exported {document['id']} to {output}", err=True)


def import_(
    file: Annotated[Path, typer.Argument(help="A file written by `sessions export` (json).")],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a live session with the same id.")] = False,
) -> None:
    """Import a session exported as json; it is checked first and refused when invalid."""
    from agentwinter_core.state import UsageError
    from agentwinter_sessions import lifecycle

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from exc
    ctx = Context()
    session_id, note = lifecycle.import_file(ctx.store, raw.strip(), ctx.settings.ttl_seconds, replace)
    typer.echo(f"{note}: {session_id} (resume it with agentwinter --resume {session_id})")


def search(
    text: Annotated[str, typer.Argument(help="Words to look for in questions, answers and tool output.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Find live and archived sessions by content (live ones are archived first, so one index serves both)."""
    import orjson

    from agentwinter_sessions import lifecycle

    ctx = Context()
    archive = ctx.needs_archive()
    lifecycle.sweep(ctx.store, archive, 10**9)  # every live session not archived at its version yet
    found = archive.search(text)
    live = set(ctx.store.live([hit.id for hit in found]))
    hits = [{**vars(hit), "live": hit.id in live} for hit in found]
    if as_json:
        typer.echo(orjson.dumps(hits, option=orjson.OPT_INDENT_2).decode())
    elif not hits:
        typer.echo(f"No session mentions {text!r}.")
    for hit in [] if as_json else hits:
        state = "live" if hit["live"] else "archived (sessions restore brings it back)"
        typer.echo(f"{hit['id']}  {hit['name'] or '-'}  {state}\n    {hit['snippet']}")


def restore(ref: Ref) -> None:
    """Put an archived session back into Redis, resumable with --resume."""
    from agentwinter_sessions import lifecycle

    ctx = Context()
    archive = ctx.needs_archive()
    ids = archive.find(ref)
    if len(ids) != 1:
        from agentwinter_core.state import UsageError

        raise UsageError(f"'{ref}' matches {len(ids)} archived sessions" + (": give more of the id" if ids else ""))
    session_id = lifecycle.restore(ctx.store, archive, ids[0], ctx.settings.ttl_seconds)
    typer.echo(f"restored {session_id}: resume it with agentwinter --resume {session_id}")
