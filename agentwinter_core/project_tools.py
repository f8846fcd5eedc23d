"""The builtin tools: read-only views of the project directory, and an opt-in shell.

Every path the model gives is relative to the project; anything resolving outside it (``..``,
absolute paths, symlinks pointing out) is refused.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentwinter_core.redact import scrubbed_env
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
    if "\0" in text:
        raise ToolError("a path may not contain a NUL character")
    if os.path.isabs(text):
        raise ToolError(f"path '{text}' is outside the project directory: give a path relative to it")
    path = (root / text).resolve()
    if path != root and root not in path.parents:
        raise ToolError(f"path '{text}' is outside the project directory")
    return path


def shown(ctx: ToolContext, path: Path) -> str:
    """``path`` relative to the project; undecodable bytes of a file name shown as U+FFFD."""
    return printable(path.relative_to(ctx.project_dir.resolve()).as_posix() or ".")


def printable(text: str) -> str:
    """``text`` with lone surrogates (how Python keeps undecodable bytes of file names) made U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
            # is_file: regular files only, so a FIFO, device or socket is never opened (it could block forever)
            if path.is_file() and not _ignored(path, False, specs) and (path.resolve() == path or _inside(root, path)):
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


def is_binary(path: Path) -> bool:
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
        what = "is not a regular file (a FIFO, device or socket); not read" if path.exists() else "does not exist"
        raise ToolError(f"'{data.get('path')}' {what}")
    if is_binary(path):
        raise ToolError(f"'{data.get('path')}' is a binary file ({path.stat().st_size:,} bytes)")
    lines = path.read_text(errors="replace").splitlines()
    first = max(1, _number(data, "start_line", 1))
    last = min(len(lines), _number(data, "end_line", len(lines)))
    column = max(1, _number(data, "start_column", 1))
    out: list[str] = []
    size = 0
    for number in range(first, last + 1):
        text = lines[number - 1][column - 1 :] if number == first else lines[number - 1]
        if not out and len(text) > MAX_READ_BYTES:  # one huge line: a piece of it, and where to go on
            start = column if number == first else 1
            return (
                f"{number:>6}\t{text[:MAX_READ_BYTES]}\n… line {number} has {len(lines[number - 1]):,} characters; "
                f"read on with start_line={number} start_column={start + MAX_READ_BYTES}"
            )
        line = f"{number:>6}\t{text}"
        size += len(line) + 1
        if len(out) >= MAX_READ_LINES or size > MAX_READ_BYTES:
            out.append(f"… stopped at line {number - 1} of {len(lines)}; read on with start_line={number}")
            break
        out.append(line)
    return "\n".join(out) if out else f"(empty: the file has {len(lines)} lines)"


def _number(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{key} must be a whole number, not {value!r}") from exc


def _compile(data: dict[str, Any]) -> Any:
    """The pattern for RE2, whose matching time is linear: no pattern can make a search hang."""
    import re2

    pattern = data.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("search needs a pattern")
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own error lines to stderr
    options.case_sensitive = not data.get("ignore_case")
    options.never_nl = True  # a match stays within one line, as the tool answers lines
    try:
        # Bytes: a whole file is searched in one call, and positions need no conversion. (?m): ^ and $ per line.
        return re2.compile(b"(?m)" + pattern.encode("utf-8", "surrogateescape"), options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ToolError(
            f"invalid pattern: {reason} (the search runs in linear time: no look-around or back-references)"
        ) from exc


def search(data: dict[str, Any], ctx: ToolContext) -> str:
    regex = _compile(data)
    glob = data.get("glob")
    matches: list[str] = []
    start = confine(ctx, data.get("path"))
    for path in [start] if start.is_file() else project_files(ctx, start):
        if (glob and not fnmatch.fnmatch(path.name, glob)) or is_binary(path):
            continue
        for number, line in _matching_lines(regex, path.read_bytes().replace(b"\r\n", b"\n")):
            matches.append(f"{shown(ctx, path)}:{number}: {line.strip()[:MAX_LINE]}")
            if len(matches) > MAX_MATCHES * 5:  # enough to say "many more"; stop reading
                break
        if len(matches) > MAX_MATCHES * 5:
            break
    return capped(matches, MAX_MATCHES, "matches not shown; narrow the pattern, path or glob") or "(no matches)"


def _matching_lines(regex: Any, data: bytes) -> Iterator[tuple[int, str]]:
    """(line number, line) of each line of ``data`` the pattern matches: one search call per matching line."""
    position, number, counted = 0, 1, 0
    while position <= len(data) and (match := regex.search(data, position)):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.start())
        end = len(data) if end < 0 else end
        number += data.count(b"\n", counted, start)
        counted = start
        yield number, data[start:end].decode("utf-8", "replace")
        position = end + 1


GIT_COMMANDS = {
    "log": ["log", "--oneline", "--decorate", "--no-color"],
    "diff": ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--stat", "--patch"],
    "status": ["status", "--short", "--branch"],
    "blame": ["blame", "--date=short"],
    "show": ["show", "--no-color", "--no-ext-diff", "--no-textconv", "--stat", "--patch"],
}
# Literal pathspecs: a path like ':(top)x' or ':/x' would otherwise name files outside the project.
# No fsmonitor: a repository's configuration must not make a read run a program.
GIT = ["git", "--no-pager", "--literal-pathspecs", "-c", "core.pager=cat", "-c", "core.fsmonitor=false"]


def git(data: dict[str, Any], ctx: ToolContext) -> str:
    """Read-only git, confined to the project even inside a larger repository: every command is limited
    to the project's paths, and refs are commits (a tree or blob id could show anything)."""
    command = data.get("command")
    if command not in GIT_COMMANDS:
        raise ToolError(f"git command must be one of {', '.join(GIT_COMMANDS)}")
    args = [*GIT, *GIT_COMMANDS[command]]
    if command == "log":
        args.append(f"-n{max(1, min(_number(data, 'limit', 20), 200))}")
    ref = str(data.get("ref") or "")
    if ref:
        args.append(_confined_ref(ctx, ref, command))
    path = data.get("path")
    if command == "blame" and not path:
        raise ToolError("blame needs a path")
    if path and str(path).startswith("-"):
        raise ToolError(f"path '{path}' may not start with '-'")
    if ":" not in ref:  # REV:PATH names its file itself
        args += ["--", shown(ctx, confine(ctx, str(path))) if path else "."]
    return _run(args, ctx, timeout=30) or "(no output)"


def _confined_ref(ctx: ToolContext, ref: str, command: str) -> str:
    """``ref`` checked to be commits (one, or a range for log and diff); REV:PATH (show only) with PATH
    resolved inside the project and made relative to it (git reads ``REV:./PATH`` from the project)."""
    if ref.startswith("-") or any(c.isspace() or c == "\0" for c in ref):
        raise ToolError(f"ref '{ref}' may not start with '-' or hold spaces")
    if ":" in ref:
        rev, _, path = ref.partition(":")
        if command != "show" or not rev or not path:
            raise ToolError("REV:PATH works with show only, with a commit and a path (e.g. HEAD:src/app.py)")
        _require_commits(ctx, [rev])
        relative = shown(ctx, confine(ctx, path))
        return f"{rev}:./{'' if relative == '.' else relative}"
    sides = ref.replace("...", "..").split("..") if command in ("log", "diff") else [ref]
    _require_commits(ctx, [side for side in sides if side] or [ref])
    return ref


def _require_commits(ctx: ToolContext, revs: list[str]) -> None:
    for rev in revs:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            cwd=ctx.project_dir,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=scrubbed_env(),
            timeout=30,
        )
        if done.returncode != 0:
            raise ToolError(f"'{rev}' is not a commit of this repository (give a branch, tag or commit id)")


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
            env=scrubbed_env(),  # the model's commands never see the API key or Redis passwords
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
        "(1-based, inclusive) for large files, start_column (1-based) to go on inside a very long line.",
        _schema(["path"], path=STRING, start_line=INTEGER, end_line=INTEGER, start_column=INTEGER),
        read_file,
        lambda d: str(d.get("path", "")),
    ),
    Tool(
        "search",
        "Search the project's text files with a regular expression (RE2 syntax: no look-around or "
        "back-references) under path (a directory or one file); answers path:line: text.",
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
