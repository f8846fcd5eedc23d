"""The builtin tools: read-only views of the project directory, and an opt-in shell.

Every path the model gives is relative to the project; anything resolving outside it (``..``,
absolute paths, symlinks pointing out) is refused.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentwinter_core.tools import Tool, ToolContext, ToolError

MAX_LIST = 1000
MAX_READ_BYTES = 100_000
MAX_READ_LINES = 2000
MAX_MATCHES = 200
MAX_OUTPUT = 50_000  # characters of git / shell output
MAX_LINE = 300  # characters of one search match


# ---- shared helpers ------------------------------------------------------------------------------
def confine(ctx: ToolContext, relative: str | None) -> Path:
    """The absolute path for ``relative``, refusing anything outside the project (symlinks resolved)."""
    root = ctx.project_dir.resolve()
    text = (relative or ".").strip() or "."
    if os.path.isabs(text):
        raise ToolError(f"path '{text}' is outside the project directory: give a path relative to it")
    path = (root / text).resolve()
    if path != root and root not in path.parents:
        raise ToolError(f"path '{text}' is outside the project directory")
    return path


def shown(ctx: ToolContext, path: Path) -> str:
    return path.relative_to(ctx.project_dir.resolve()).as_posix() or "."


def capped(lines: list[str], limit: int, notice: str) -> str:
    """At most ``limit`` lines, then a notice saying how many were left out and what to do."""
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"… {len(lines) - limit} more {notice}"])


def _truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… output cut at {limit:,} characters"


# ---- the file set: everything not ignored by .gitignore -------------------------------------------
def project_files(ctx: ToolContext, start: Path) -> Iterator[Path]:
    """Files under ``start`` in sorted order, skipping .git and whatever .gitignore files exclude."""
    import pathspec

    root = ctx.project_dir.resolve()
    specs: dict[Path, Any] = {}
    for directory, dirs, files in os.walk(start):
        here = Path(directory)
        ignore = here / ".gitignore"
        if ignore.is_file():
            specs[here] = pathspec.GitIgnoreSpec.from_lines(ignore.read_text(errors="replace").splitlines())
        dirs[:] = sorted(d for d in dirs if d != ".git" and not _ignored(here / d, True, specs))
        for name in sorted(files):
            path = here / name
            if not _ignored(path, False, specs) and (path.resolve() == path or _inside(root, path)):
                yield path


def _inside(root: Path, path: Path) -> bool:
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


def _ignored(path: Path, is_dir: bool, specs: dict[Path, Any]) -> bool:
    for base, spec in specs.items():
        if base == path or base not in path.parents:
            continue
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(relative):
            return True
    return False


def _is_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\0" in handle.read(8192)


# ---- the tools -----------------------------------------------------------------------------------
def list_files(data: dict[str, Any], ctx: ToolContext) -> str:
    start = confine(ctx, data.get("path"))
    if not start.is_dir():
        raise ToolError(f"'{data.get('path')}' is not a directory")
    pattern = data.get("pattern")
    paths = [shown(ctx, p) for p in project_files(ctx, start) if not pattern or fnmatch.fnmatch(p.name, pattern)]
    return capped(paths, MAX_LIST, "files not shown; narrow with path or pattern") or "(no files)"


def read_file(data: dict[str, Any], ctx: ToolContext) -> str:
    path = confine(ctx, data.get("path"))
    if path.is_dir():
        raise ToolError(f"'{data.get('path')}' is a directory: use list_files")
    if not path.is_file():
        raise ToolError(f"'{data.get('path')}' does not exist")
    if _is_binary(path):
        raise ToolError(f"'{data.get('path')}' is a binary file ({path.stat().st_size:,} bytes)")
    lines = path.read_text(errors="replace").splitlines()
    first = max(1, int(data.get("start_line") or 1))
    last = min(len(lines), int(data.get("end_line") or len(lines)))
    out, size = [], 0
    for number in range(first, last + 1):
        line = f"{number:>6}\t{lines[number - 1]}"
        size += len(line) + 1
        if len(out) >= MAX_READ_LINES or size > MAX_READ_BYTES:
            out.append(f"… stopped at line {number - 1} of {len(lines)}; read on with start_line={number}")
            break
        out.append(line)
    return "\n".join(out) if out else f"(empty: the file has {len(lines)} lines)"


def search(data: dict[str, Any], ctx: ToolContext) -> str:
    try:
        regex = re.compile(data["pattern"], re.IGNORECASE if data.get("ignore_case") else 0)
    except (re.error, KeyError) as exc:
        raise ToolError(f"invalid pattern: {exc}") from exc
    glob = data.get("glob")
    matches: list[str] = []
    for path in project_files(ctx, confine(ctx, data.get("path"))):
        if (glob and not fnmatch.fnmatch(path.name, glob)) or _is_binary(path):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if regex.search(line):
                matches.append(f"{shown(ctx, path)}:{number}: {line.strip()[:MAX_LINE]}")
        if len(matches) > MAX_MATCHES * 5:  # enough to say "many more"; stop reading
            break
    return capped(matches, MAX_MATCHES, "matches not shown; narrow the pattern, path or glob") or "(no matches)"


GIT_COMMANDS = {
    "log": ["log", "--oneline", "--decorate", "--no-color"],
    "diff": ["diff", "--no-color", "--no-ext-diff", "--stat", "--patch"],
    "status": ["status", "--short", "--branch"],
    "blame": ["blame", "--date=short"],
    "show": ["show", "--no-color", "--no-ext-diff", "--stat", "--patch"],
}


def git(data: dict[str, Any], ctx: ToolContext) -> str:
    command = data.get("command")
    if command not in GIT_COMMANDS:
        raise ToolError(f"git command must be one of {', '.join(GIT_COMMANDS)}")
    args = ["git", "--no-pager", "-c", "core.pager=cat", *GIT_COMMANDS[command]]
    if command == "log":
        args.append(f"-n{max(1, min(int(data.get('limit') or 20), 200))}")
    if ref := data.get("ref"):
        if str(ref).startswith("-"):
            raise ToolError(f"ref '{ref}' may not start with '-'")
        args.append(str(ref))
    if data.get("path") or command == "blame":
        if not data.get("path"):
            raise ToolError("blame needs a path")
        if str(data["path"]).startswith("-"):
            raise ToolError(f"path '{data['path']}' may not start with '-'")
        args += ["--", shown(ctx, confine(ctx, data["path"]))]
    return _run(args, ctx, timeout=30) or "(no output)"


def shell(data: dict[str, Any], ctx: ToolContext) -> str:
    command = str(data.get("command", "")).strip()
    if not command:
        raise ToolError("no command given")
    if not ctx.allow_shell:
        if not ctx.interactive:
            raise ToolError("the shell tool is off without a terminal (start agentwinter with --allow-shell)")
        if not ctx.confirm(f"Run shell command: {command}?"):
            raise ToolError("the user declined to run this command")
    return _run(["/bin/sh", "-c", command], ctx, timeout=120, exit_code=True)


def _run(args: list[str], ctx: ToolContext, timeout: int, exit_code: bool = False) -> str:
    try:
        done = subprocess.run(
            args,
            cwd=ctx.project_dir,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{args[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"timed out after {timeout} s") from exc
    output = _truncate(done.stdout + done.stderr)
    if exit_code:
        return f"{output}\n(exit code {done.returncode})".strip()
    if done.returncode != 0:
        raise ToolError(output.strip() or f"{args[0]} failed with exit code {done.returncode}")
    return output


def _schema(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


STRING, INTEGER = {"type": "string"}, {"type": "integer"}

READ_ONLY_TOOLS = [
    Tool(
        "list_files",
        "List the project's files (respects .gitignore), optionally under a subdirectory "
        "or matching a glob on the file name.",
        _schema([], path=STRING, pattern=STRING),
        list_files,
        lambda d: " ".join(str(v) for v in (d.get("path"), d.get("pattern")) if v),
    ),
    Tool(
        "read_file",
        "Read a text file of the project with line numbers; use start_line/end_line "
        "(1-based, inclusive) for large files.",
        _schema(["path"], path=STRING, start_line=INTEGER, end_line=INTEGER),
        read_file,
        lambda d: str(d.get("path", "")),
    ),
    Tool(
        "search",
        "Search the project's text files with a Python regular expression; answers path:line: text.",
        _schema(["pattern"], pattern=STRING, path=STRING, glob=STRING, ignore_case={"type": "boolean"}),
        search,
        lambda d: str(d.get("pattern", "")),
    ),
    Tool(
        "git",
        "Read-only git information: log, diff, status, blame or show, optionally for a path or ref.",
        _schema(
            ["command"], command={"type": "string", "enum": list(GIT_COMMANDS)}, path=STRING, ref=STRING, limit=INTEGER
        ),
        git,
        lambda d: " ".join(str(v) for v in (d.get("command"), d.get("path")) if v),
    ),
]
SHELL_TOOL = Tool(
    "shell",
    "Run a shell command in the project directory. The user confirms each call.",
    _schema(["command"], command=STRING),
    shell,
    lambda d: str(d.get("command", "")),
)


def builtin_tools(include_shell: bool) -> list[Tool]:
    return [*READ_ONLY_TOOLS, SHELL_TOOL] if include_shell else list(READ_ONLY_TOOLS)
