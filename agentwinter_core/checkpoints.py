"""Per-query checkpoints of the files the agent changes, and ``!undo`` putting them back.

The conversation's metadata says which queries changed which files (``"edits"``: one entry per query,
each file with the sha256 of its content after the agent's last change, or None when deleted) and names
the checkpoint group (``"edit_group"``). The snapshots themselves live in the data directory, one folder
per group: a manifest per checkpoint (what each file was before the query's first change to it) and the
old contents by digest. So a session resumed in another process can still be undone, whichever plugin
persisted its metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from agentwinter_core import history
from agentwinter_core.api import plugin_state
from agentwinter_core.config import data_dir, positive_int
from agentwinter_core.project_tools import confine
from agentwinter_core.state import App
from agentwinter_core.tools import ToolContext, ToolError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # snapshots kept per conversation; the oldest go first
SAFE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,80}")  # ids come back from storage: never a path of their own


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str | None:
    """The sha256 of a regular file, None when it does not exist (or is not a regular file)."""
    try:
        return digest(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def write_atomic(path: Path, data: bytes, mode: int | None) -> None:
    """Write through a temporary file in the same directory and a rename: never a half-written file.
    ``mode`` None: a new file, created with the usual permissions (0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def max_bytes(app: App) -> int:
    """The snapshot space per conversation; read once per run, so a wrong value is one warning."""

    def read() -> int:
        value = app.config.section("agentwinter").get("checkpoint_max_bytes", DEFAULT_MAX_BYTES)
        return positive_int(value, "checkpoint_max_bytes", DEFAULT_MAX_BYTES, app.ui.warn)

    return plugin_state(app, "checkpoint_max_bytes", read)


# ---- the stored snapshots --------------------------------------------------------------------------
class Group:
    """The snapshots of one conversation: ``<data dir>/checkpoints/<group>/``."""

    def __init__(self, group: str) -> None:
        if not SAFE_ID.fullmatch(group):
            raise ValueError(f"not a checkpoint group: {group!r}")
        self.root = data_dir() / "checkpoints" / group
        self.blobs = self.root / "blobs"

    def create(self, project_dir: Path) -> str:
        """A new, empty checkpoint; its id."""
        self.blobs.mkdir(parents=True, exist_ok=True)
        checkpoint = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
        self._save({"id": checkpoint, "created": time.time(), "project": str(project_dir), "files": {}})
        return checkpoint

    def load(self, checkpoint: str) -> dict[str, Any] | None:
        if not SAFE_ID.fullmatch(checkpoint):
            return None
        try:
            manifest = json.loads((self.root / f"{checkpoint}.json").read_text())
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) else None

    def remember(self, checkpoint: str, rel: str, before: bytes | None, mode: int | None) -> None:
        """Snapshot ``rel`` as it is before the query's first change to it (later changes keep the first)."""
        manifest = self.load(checkpoint)
        if manifest is None or rel in manifest["files"]:
            return
        sha = None
        if before is not None:
            sha = digest(before)
            blob = self.blobs / sha
            if not blob.exists():
                write_atomic(blob, before, 0o600)
        manifest["files"][rel] = {"before": sha, "mode": mode}
        self._save(manifest)

    def blob(self, sha: str) -> bytes | None:
        """A snapshot's bytes, None when missing or damaged."""
        try:
            data = (self.blobs / sha).read_bytes() if SAFE_ID.fullmatch(sha) else None
        except OSError:
            return None
        return data if data is not None and digest(data) == sha else None

    def mark_undone(self, checkpoint: str) -> None:
        """Undone checkpoints stay on disk, flagged, so a metadata copy saved before the undo is not replayed."""
        manifest = self.load(checkpoint)
        if manifest is not None:
            manifest["undone"] = True
            self._save(manifest)

    def prune(self, limit: int) -> list[str]:
        """Drop the oldest checkpoints until the snapshots fit in ``limit`` bytes (the newest always stays).
        The ids dropped."""
        manifests = sorted(
            (m for path in self.root.glob("*.json") if (m := self.load(path.stem)) is not None),
            key=lambda m: float(m.get("created") or 0),
        )
        dropped = []
        while len(manifests) > 1 and self._size(manifests) > limit:
            oldest = manifests.pop(0)
            (self.root / f"{oldest['id']}.json").unlink(missing_ok=True)
            dropped.append(oldest["id"])
        if dropped:
            wanted = {f["before"] for m in manifests for f in m["files"].values() if isinstance(f, dict)}
            for blob in self.blobs.iterdir():
                if blob.name not in wanted:
                    blob.unlink(missing_ok=True)
        return dropped

    def _size(self, manifests: list[dict[str, Any]]) -> int:
        shas = {f.get("before") for m in manifests for f in m["files"].values() if isinstance(f, dict)}
        return sum((self.blobs / sha).stat().st_size for sha in shas if sha and (self.blobs / sha).exists())

    def _save(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.root / f"{manifest['id']}.json", json.dumps(manifest, sort_keys=True).encode(), 0o600)


# ---- recording a query's changes -------------------------------------------------------------------
def edits(app: App) -> list[dict[str, Any]]:
    """This conversation's record of changed files, one entry per query that changed any."""
    found = app.conversation.metadata.get("edits")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def group_of(app: App) -> Group:
    metadata = app.conversation.metadata
    name = metadata.get("edit_group")
    if not isinstance(name, str) or not SAFE_ID.fullmatch(name):
        name = metadata["edit_group"] = f"{time.strftime('%Y%m%d')}-{secrets.token_hex(6)}"
    return Group(name)


def start_checkpoint(app: App, query: int) -> dict[str, Any]:
    """The metadata entry of a new checkpoint for query number ``query``; older ones dropped past the cap."""
    group = group_of(app)
    entry = {"checkpoint": group.create(app.project_dir), "query": query, "files": {}}
    metadata = app.conversation.metadata
    metadata["edits"] = [*edits(app), entry]
    return entry


def record_change(
    app: App, entry: dict[str, Any], rel: str, before: bytes | None, mode: int | None, after: bytes | None
) -> None:
    """Snapshot ``rel`` before its first change in this query; note its digest after the change (None:
    deleted). Called before the file is written: a crash in between leaves a snapshot, never a loss."""
    group = group_of(app)
    group.remember(entry["checkpoint"], rel, before, mode)
    entry["files"][rel] = None if after is None else digest(after)
    limit = max_bytes(app)
    dropped = group.prune(limit)
    if dropped:
        app.ui.warn(
            f"dropped the {len(dropped)} oldest checkpoint{'s' if len(dropped) > 1 else ''} of this conversation "
            f"(snapshots over {limit:,} bytes): !undo cannot restore the files of those queries"
        )


# ---- undo -------------------------------------------------------------------------------------------
def undo(app: App, count: int, total: int, code: bool, conversation: bool, remembered: bool) -> str:
    """Undo the last ``count`` of ``total`` queries: their files (``code``) and their messages
    (``conversation``, when a plugin keeps the conversation). The report, as markdown."""
    if count > total:
        raise ValueError(
            f"there {'is' if total == 1 else 'are'} only {_queries(total)} to undo" if total else "nothing to undo yet"
        )
    first = total - count
    undone = [e for e in edits(app) if isinstance(e.get("query"), int) and e["query"] >= first]
    lines = []
    if code and not undone:
        lines.append("No file changes to restore.")
    elif code:
        group = group_of(app)
        lines += _restore(app, group, undone)
        for entry in undone:
            group.mark_undone(str(entry.get("checkpoint")))
    cut = False
    if conversation and remembered:
        messages = app.conversation.messages
        starts = history.query_starts(messages)
        if cut := first < len(starts):
            app.conversation.messages = messages[: starts[first]]
            dropped = len(starts) - first
            lines.append(f"Dropped the last {'query' if dropped == 1 else _queries(dropped)} from the conversation.")
    if code or cut:  # restored, or no longer in the conversation: either way not the agent's to undo again
        app.conversation.metadata["edits"] = [e for e in edits(app) if e not in undone]
    return "\n".join(lines) or "Nothing to undo."


def _restore(app: App, group: Group, undone: list[dict[str, Any]]) -> list[str]:
    """Put every file the undone queries changed back as it was before the oldest of them."""
    expected: dict[str, str | None] = {}  # what the agent last left in each file
    before: dict[str, tuple[str | None, int | None]] = {}
    lost = []
    for entry in undone:  # oldest first
        manifest = group.load(str(entry.get("checkpoint")))
        if manifest is None:  # dropped to stay under the size cap
            lost += [f"{rel} (its snapshot was dropped)" for rel in entry.get("files") or {}]
            continue
        if manifest.get("undone"):
            continue
        if manifest.get("project") != str(app.project_dir):
            return [f"These changes were made in {manifest.get('project')}, not here: nothing restored."]
        files = entry.get("files")
        files = files if isinstance(files, dict) else {}
        for rel, state in manifest["files"].items():
            if isinstance(state, dict):
                before.setdefault(rel, (state.get("before"), state.get("mode")))
                expected[rel] = files.get(rel)
    if not before and not lost:
        return ["No file changes to restore."]
    restored, skipped = [], lost
    context = ToolContext(project_dir=app.project_dir)
    for rel, (sha, mode) in sorted(before.items()):
        try:
            path = confine(context, rel)
        except ToolError:
            skipped.append(f"{rel} (outside the project)")
            continue
        now = file_digest(path)
        if now == sha:
            restored.append(rel)  # already as it was
            continue
        if now != expected.get(rel) and not app.ui.confirm(
            f"{rel} changed since the agent's edit; overwrite it with the snapshot?"
        ):
            skipped.append(f"{rel} (changed since the agent's edit; left as it is)")
            continue
        if sha is None:
            path.unlink(missing_ok=True)
            restored.append(f"{rel} (removed: the agent created it)")
            continue
        data = group.blob(sha)
        if data is None:
            skipped.append(f"{rel} (its snapshot is missing)")
            continue
        write_atomic(path, data, mode)
        restored.append(rel)
    lines = []
    if restored:
        lines.append(f"Restored {len(restored)} file{'' if len(restored) == 1 else 's'}: {', '.join(restored)}")
    if skipped:
        lines.append(f"Not restored: {', '.join(skipped)}")
    return lines


def _queries(count: int) -> str:
    return "1 query" if count == 1 else f"{count} queries"
