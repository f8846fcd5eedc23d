"""Archiving in a background process, so LanceDB's ~2 s import never holds up a prompt or an exit.

A run hands a session over as a file, ``<archive_dir>/pending/<id>.<version>.json`` (the document as Redis
holds it, mode 0600), and starts ``python -m agentwinter_sessions.archiver ARCHIVE_DIR [--sweep]`` in its own
session, without the terminal. It archives every waiting file and removes each once archived, then, with
``--sweep``, the sessions that expire soon. A file stays until it is archived: an archiver that fails or
is killed leaves it to the next one, and what went wrong is kept in ``<id>.<version>.error`` for the next
run to say in one line. Archivers may run at once: archiving a version twice keeps it once.
While one runs, ``pending/<pid>.pid`` names it (written by the run that starts it, removed as it ends).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentwinter_sessions import spill
from agentwinter_sessions.archive import archived, one_line
from agentwinter_sessions.document import decode
from agentwinter_sessions.failures import Corrupt, StoreError

PENDING = "pending"
NICE = 10  # added to an archiver's niceness: ~2 s of CPU on a 2-core machine must not slow the terminal


def pending_dir(archive_dir: Path) -> Path:
    return archive_dir / PENDING


def hand_over(archive_dir: Path, session_id: str, version: int, raw: bytes) -> Path:
    """Keep one stored version of a session for an archiver; the file."""
    return spill.write(pending_dir(archive_dir), f"{session_id}.{version}", raw)


def start(archive_dir: Path, sweep: bool) -> subprocess.Popen[bytes]:
    """A detached archiver; it waits for its pid file before it works. OSError when it cannot start."""
    directory = pending_dir(archive_dir)
    directory.mkdir(parents=True, exist_ok=True)
    # -P: a project's own lancedb/ (or any package) in the directory we run in is not the one imported.
    argv = [sys.executable, "-P", "-m", "agentwinter_sessions.archiver", str(archive_dir.absolute())]
    argv += ["--sweep"] if sweep else []
    devnull = subprocess.DEVNULL  # it outlives us: it must not hold the terminal or a pipe someone reads to its end
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=devnull, stderr=devnull, cwd=directory, start_new_session=True
    )
    try:
        (directory / f"{child.pid}.pid").touch()
    finally:
        child.stdin.close()  # type: ignore[union-attr] - the go
    return child


def forget(archive_dir: Path, session_id: str) -> None:
    """Drop the waiting files of a removed session, so no archiver brings it back."""
    for path in _waiting(pending_dir(archive_dir)):
        if path.name[: -len(".json")].rpartition(".")[0] == session_id:
            path.unlink(missing_ok=True)


def problems(archive_dir: Path) -> list[str]:
    """What background archivers could not do, one line each; said once (the notes are removed)."""
    lines = []
    for path in sorted(pending_dir(archive_dir).glob("*.error")):
        try:
            lines.append(path.read_text(errors="replace").strip())
            path.unlink()
        except OSError:
            continue  # another run is saying it
    return [line for line in lines if line]


def drain(archive: Any) -> int:
    """Archive every waiting file (``archive``: an ``archive.Archive``); how many were archived."""
    done = 0
    for path in _waiting(pending_dir(archive.directory)):
        try:
            raw = path.read_bytes()
            document = decode(raw)
        except FileNotFoundError:
            continue  # another archiver took it
        except Corrupt as exc:
            kept = path.with_suffix(".corrupt")
            with contextlib.suppress(FileNotFoundError):  # else another archiver set it aside
                path.replace(kept)
                _note(path, f"{path} is not a session ({exc}); kept as {kept}")
            continue
        try:
            archive.put(document, raw.rstrip())
        except Exception as exc:  # whatever LanceDB raises: the file is kept for the next archiver
            why = f"{type(exc).__name__}: {exc}"
            _note(path, f"session {document['id']} could not be archived ({why}); kept in {path} for the next run")
            continue
        path.unlink(missing_ok=True)
        path.with_suffix(".error").unlink(missing_ok=True)
        done += 1
    return done


def _waiting(directory: Path) -> list[Path]:
    return spill.waiting(directory, "*.json")


def _note(path: Path, line: str) -> None:
    path.with_suffix(".error").write_text(one_line(line) + "\n")  # lance's messages may span lines


def _sweeping() -> tuple[Any, int, str]:
    """The store, margin and owner of a sweep, with this user's settings (as ``agentwinter sessions`` reads them)."""
    from agentwinter_core.api import load_config
    from agentwinter_sessions.settings import Settings
    from agentwinter_sessions.tracking import owner

    settings = Settings.load(load_config(), lambda _line: None)  # the run said them
    return settings.store(), settings.archive_margin_seconds, owner()  # this user's sessions only


def due(archive_dir: Path, sweeping: tuple[Any, int, str] | None) -> bool:
    """Whether there is anything to archive: a waiting file, or (sweeping) a session that expires soon at a
    version the ledger lacks. Asked before LanceDB is imported: most sweeps find nothing, and then cost
    ~0.7 s of CPU instead of ~3 s."""
    if _waiting(pending_dir(archive_dir)):
        return True
    if sweeping is None:
        return False
    from agentwinter_sessions import lifecycle

    store, within, who = sweeping
    with contextlib.suppress(StoreError):  # Redis away: the run said so, and the next sweep catches up
        return bool(lifecycle.unarchived(store, archived(archive_dir), within, who))
    return False


def sweep(archive: Any, sweeping: tuple[Any, int, str]) -> None:
    """Archive the sessions that expire soon."""
    from agentwinter_sessions import lifecycle

    store, within, who = sweeping
    with contextlib.suppress(StoreError):  # Redis away: the run said so, and the next sweep catches up
        lifecycle.sweep(store, archive, within, who)


def main(args: list[str]) -> int:
    archive_dir, with_sweep = Path(args[0]), "--sweep" in args[1:]
    if hasattr(os, "nice"):
        os.nice(NICE)  # background work: the run that is exiting, and the person's next one, come first
    sys.stdin.buffer.read()  # until the run that started us has written our pid file
    try:
        from agentwinter_sessions import lifecycle

        sweeping = _sweeping() if with_sweep else None
        if not due(archive_dir, sweeping):
            return 0
        archive = lifecycle.open_archive(archive_dir)
        if archive is None:
            raise RuntimeError("LanceDB is not installed any more")
        archive.fill_ledger()
        drain(archive)
        if sweeping is not None:
            sweep(archive, sweeping)
    except Exception as exc:  # nobody sees our stderr: the next run says it
        directory, why = pending_dir(archive_dir), f"{type(exc).__name__}: {exc}"
        waiting = f"{len(_waiting(directory))} sessions wait in {directory} for the next run"
        _note(directory / "archiver.json", f"background archiving failed ({why}); {waiting}")  # the latest one
        return 1
    finally:
        (pending_dir(archive_dir) / f"{os.getpid()}.pid").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
