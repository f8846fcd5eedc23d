"""What changed in the project's working tree between a session's save and its resume.

Every save stores ``snapshot()``; on resume ``changes()`` compares it with the tree as it is now. In a git
work tree the snapshot is HEAD plus a digest of every path ``git status`` reports, so a clean tree costs
two git calls and no file reads; outside git it is the mtime and size of the files the model read.
Nothing here raises: a missing git, a slow repository or stored data from an older version mean no warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BIG = 50 * 1024 * 1024  # hash no file bigger than this: its size and mtime are enough to notice it moved
NOTE_LIMIT = 50
SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # sha1 or sha256: nothing else from storage reaches git's argv
FIELDS = {"1": 8, "u": 10, "?": 1}  # porcelain v2 entry kind -> spaces before the path (no "2": --no-renames)


@dataclass
class Changes:
    files: list[str]
    head_before: str | None
    head_after: str | None

    def summary(self) -> str:
        count = len(self.files)
        text = f"⚠ {count} file{'' if count == 1 else 's'} changed since this session"
        if self.head_before != self.head_after:
            text += f" (HEAD {_short(self.head_before)} → {_short(self.head_after)})"
        return text

    def note(self) -> str:
        names = ", ".join(self.files[:NOTE_LIMIT])
        if len(self.files) > NOTE_LIMIT:
            names += f" … and {len(self.files) - NOTE_LIMIT} more"
        return f"Files changed since you last looked (re-read them before relying on earlier tool results): {names}"


def read_paths(messages: list[dict]) -> list[str]:
    paths = set()
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == "read_file":
                arguments = block.get("input")
                path = arguments.get("path") if isinstance(arguments, dict) else None
                if isinstance(path, str) and path:
                    paths.add(path)
    return sorted(paths)


def snapshot(project_dir: Path, read: list[str]) -> dict:
    root = Path(project_dir).resolve()
    state = _git_state(root)
    if state is not None:
        head, branch, dirty = state
        digest = hashlib.sha256(json.dumps([head, sorted(dirty.items())]).encode()).hexdigest()
        return {"git": True, "head": head, "branch": branch, "dirty": dirty, "digest": digest}
    return {"git": False, "files": file_states(root, read)}


def file_states(root: Path, paths: list[str]) -> dict[str, list[int] | None]:
    """[mtime_ns, size] of each path inside the project (None when missing): the outside-git record.
    ``root`` is the resolved project directory."""
    states = {}
    for rel in paths:
        path = _local(root, rel)
        if path is not None:
            states[rel] = _stat(root, path)
    return states


def changes(before: dict, project_dir: Path, own: dict[str, str] | None = None) -> Changes | None:
    """What changed since ``before``, leaving out the files still exactly as the agent's own edits left
    them (``own``: path -> sha256, from ``own_edits``)."""
    root = Path(project_dir).resolve()
    if not isinstance(before, dict):
        return None
    if before.get("git") is True:
        found = _git_changes(before, root)
    else:
        files = before.get("files")
        if before.get("git") is not False or not isinstance(files, dict):
            return None
        changed = [rel for rel, was in files.items() if (path := _local(root, rel)) and _stat(root, path) != was]
        found = Changes(sorted(changed), None, None) if changed else None
    if found is not None and own:
        found.files = [rel for rel in found.files if own.get(rel) != _digest(root, rel)]
    return found if found is None or found.files else None  # a commit of only the agent's edits: no news


def own_edits(metadata: object) -> dict[str, str]:
    """The sha256 the agent's last edit of each file left (the core records them in metadata["edits"])."""
    entries = metadata.get("edits") if isinstance(metadata, dict) else None
    own: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else ():
        files = entry.get("files") if isinstance(entry, dict) else None
        if isinstance(files, dict):
            own.update({rel: sha for rel, sha in files.items() if isinstance(rel, str) and isinstance(sha, str)})
    return own


def identity(project_dir: Path) -> str:
    """Which repository, and where in it, a session belongs to: the normalised URL of its remote (origin,
    else the first) and the path inside it, ``github.com/owner/app:src/web``; the absolute directory outside
    git or without a remote. A moved checkout, a second clone and another machine give the same identity."""
    root = Path(project_dir).resolve()
    where = _git(root, "rev-parse", "--show-prefix", "--show-toplevel")
    remotes = _git(root, "config", "--get-regexp", r"^remote\..*\.url$") if where is not None else None
    urls = dict(line.split(" ", 1) for line in (remotes or "").splitlines() if " " in line)
    url = urls.get("remote.origin.url") or next((urls[key] for key in sorted(urls)), "")
    lines = (where or "").split("\n")
    remote = remote_name(url, Path(lines[1]) if len(lines) > 1 and lines[1] else root) if url else ""
    if not remote:
        return str(root)
    prefix = lines[0].strip().rstrip("/")
    return f"{remote}:{prefix}" if prefix else remote


def remote_name(url: str, top: Path) -> str:
    """A remote URL without what differs between clones of one repository: scheme, user, password, port,
    a trailing ``.git``; ``git@github.com:o/r.git`` and ``https://github.com/o/r`` are both ``github.com/o/r``.
    A local remote is its resolved path (``top``, the work tree's root, is what a relative one is relative to)."""
    url = url.strip()
    scp = re.fullmatch(r"(?:[^@/]+@)?([^:/]{2,}):(?!/)(.+)", url)  # user@host:path (not a Windows drive)
    if "://" in url and not url.startswith("file://"):
        parts = urllib.parse.urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
    elif scp:
        host, path = scp[1].lower(), scp[2]
    else:
        local = url.removeprefix("file://")
        try:
            path = str((top / local).resolve())
        except (OSError, RuntimeError, ValueError):
            return ""
        host = ""
    path = path.strip("/").removesuffix(".git").rstrip("/")
    if not path:
        return ""
    return f"{host}/{path}" if host else str(PurePosixPath("/", path))


def _git_changes(before: dict, root: Path) -> Changes | None:
    old, dirty = before.get("head"), before.get("dirty")
    if not isinstance(dirty, dict) or not (old is None or (isinstance(old, str) and SHA.fullmatch(old))):
        return None
    state = _git_state(root)
    if state is None:  # no longer a work tree, or git is gone or too slow: nothing to compare with
        return None
    head, _, now = state
    files = {path for path in dirty.keys() | now.keys() if isinstance(path, str) and dirty.get(path) != now.get(path)}
    if old != head:
        # From or to no commits at all, every file of the one HEAD changed. The diff fails when the old head
        # is unknown now (rebased, then collected): the dirty state is all we can compare.
        if old and head:
            listing = _git(root, "diff", "--name-only", "-z", "--no-renames", "--relative", old, head)
        else:  # ls-tree, like diff --relative, answers for root and relative to it
            listing = _git(root, "ls-tree", "-r", "-z", "--name-only", old or head)
        files.update(path for path in (listing or "").split("\0") if path)
    return Changes(sorted(files), old, head) if files else None


def _git_state(root: Path) -> tuple[str | None, str | None, dict[str, str]] | None:
    """(head, branch, {dirty path: digest}) with paths relative to root, or None outside a usable work tree."""
    where = _git(root, "rev-parse", "--is-inside-work-tree", "--show-prefix")
    if where is None or not where.startswith("true\n"):
        return None
    prefix = where[5:].rstrip("\n")  # porcelain paths are relative to the repository root, ours to root
    status = _git(
        root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--no-renames", "--", "."
    )
    if status is None:
        return None
    head = branch = None
    paths = []
    for entry in status.split("\0"):
        if entry.startswith("# branch.oid "):
            head = entry[13:] if SHA.fullmatch(entry[13:]) else None  # "(initial)": no commits yet
        elif entry.startswith("# branch.head "):
            branch = None if entry[14:] == "(detached)" else entry[14:]
        elif entry[:1] in FIELDS and entry[1:2] == " ":
            paths.append(entry.split(" ", FIELDS[entry[0]])[-1])
    names = sorted({path.removeprefix(prefix) for path in paths if path})
    return head, branch, {name: _digest(root, name) for name in names}


def _git(root: Path, *args: str) -> str | None:
    """Stdout of one git command run in root; None if git is missing, fails or takes over 2 s."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=2,
            encoding="utf-8",
            errors="replace",  # a non-UTF-8 name gets a stable, JSON-safe stand-in
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # status must not take the index lock in the user's repo
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _local(root: Path, rel: str) -> Path | None:
    """root/rel when it stays inside root (no "..", no symlinked directory leading out), else None."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel):
        return None
    parts = [part for part in rel.split(os.sep) if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    # root is resolved: only a symlink among the directories below it can lead out. Checking those few
    # (usually none is a link) costs a fraction of resolving the whole path; this runs as a query is saved.
    directory = str(root)
    for part in parts[:-1]:
        directory = os.path.join(directory, part)
        if os.path.islink(directory):
            try:
                if not Path(root, *parts[:-1]).resolve().is_relative_to(root):
                    return None
            except (OSError, RuntimeError, ValueError):
                return None
            break
    return Path(root, *parts)


def _digest(root: Path, rel: str) -> str:
    path = _local(root, rel)
    if path is None:
        return "outside"
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):  # git tracks the link itself: hash its text, never follow it
            return "link:" + hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest()
        if not stat.S_ISREG(info.st_mode) or info.st_size > BIG:  # submodules, nested repositories, huge files
            return f"stat:{info.st_size}:{info.st_mtime_ns}"
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return "deleted"


def _stat(root: Path, path: Path) -> list[int] | None:
    """[mtime_ns, size] of a path ``_local`` accepted; None when missing or a symlink out of the project."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):  # only a link needs resolving (one lstat per directory level)
            if not path.resolve().is_relative_to(root):
                return None
            info = path.stat()
    except (OSError, RuntimeError, ValueError):
        return None
    return [info.st_mtime_ns, info.st_size]


def _short(sha: str | None) -> str:
    return sha[:7] if sha else "none"
