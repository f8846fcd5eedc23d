"""Tools that change the project: ``write_file`` and ``edit_file``.

Confined like the read tools, text only, written atomically with the file's mode and line endings kept.
A file that changed on disk since the model last read it is refused, so the model never overwrites what
it has not seen. At a terminal each change is shown as a diff and applied only when the person agrees
(``edits = "ask"``); before a query's first change to a file, the file is snapshotted for ``!undo``.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentwinter_core import checkpoints, history
from agentwinter_core.checkpoints import digest, write_atomic
from agentwinter_core.config import EDIT_MODES
from agentwinter_core.project_tools import READ_ONLY_TOOLS, confine, is_binary, shown
from agentwinter_core.state import App
from agentwinter_core.tools import Tool, ToolContext, ToolError

MAX_EDIT_BYTES = 5_000_000  # larger files are not source code a model should rewrite


@dataclass
class EditState:
    """``app.plugin_state["edits"]``: what this run knows about the agent's edits."""

    mode: str
    seen: dict[str, str] = field(default_factory=dict)  # path -> digest when the model last read or wrote it
    accept_all: bool = False  # "a" answered during this query
    query: int | None = 0  # the current query's number in the conversation (None: count it at the first edit)
    entry: dict[str, Any] | None = None  # this query's checkpoint entry, made with its first change
    runs: int = 0  # queries so far in this run (numbers them when no plugin keeps the conversation)
    previous: Any = None  # the last query's Conversation, when no plugin keeps it


def edit_mode(configured: str | None, flag: str | None, interactive: bool) -> str:
    """ask, auto or off for this run. ``--edits`` wins over the config's ``edits``, which applies at a
    terminal only: nobody answers a piped or ``-p`` run, so it edits only when given ``--edits auto``."""
    if flag is not None:
        return "off" if flag == "ask" and not interactive else flag
    return (configured or "ask") if interactive else "off"


def state_of(app: App) -> EditState:
    state = app.plugin_state.get("edits")
    if not isinstance(state, EditState):
        mode = app.config.edits if app.config.edits in EDIT_MODES else "off"
        state = app.plugin_state["edits"] = EditState(mode)
    return state


# ---- planning a change ------------------------------------------------------------------------------
@dataclass
class Change:
    rel: str
    path: Path
    old: bytes | None  # None: a new file
    new: bytes

    @property
    def diff(self) -> list[str]:
        before = [] if self.old is None else _text(self.old).splitlines()
        after = _text(self.new).splitlines()
        source = "/dev/null" if self.old is None else f"a/{self.rel}"
        return list(difflib.unified_diff(before, after, source, f"b/{self.rel}", lineterm=""))

    def counts(self) -> tuple[int, int]:
        lines = self.diff[2:]
        added = sum(1 for line in lines if line.startswith("+"))
        return added, sum(1 for line in lines if line.startswith("-"))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _target(data: dict[str, Any], ctx: ToolContext) -> tuple[str, Path, bytes | None]:
    """The confined path, its name as shown, and its current bytes (None when absent); refuses what is
    not an ordinary text file of the project."""
    given = data.get("path")
    if not isinstance(given, str) or not given.strip():
        raise ToolError("give the path of the file, relative to the project")
    path = confine(ctx, given)
    rel = shown(ctx, path)
    if rel == "." or ".git" in Path(rel).parts:
        raise ToolError(f"'{given}' cannot be written: give a file of the project (not .git)")
    if not path.exists():
        return rel, path, None
    if not path.is_file():
        raise ToolError(f"'{given}' is not a regular file")
    if path.stat().st_size > MAX_EDIT_BYTES:
        raise ToolError(f"'{given}' is too large to edit ({path.stat().st_size:,} bytes)")
    if is_binary(path):
        raise ToolError(f"'{given}' is a binary file: only text files can be edited")
    old = path.read_bytes()
    try:
        old.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"'{given}' is not UTF-8 text: it cannot be edited") from exc
    return rel, path, old


def _check_fresh(state: EditState, rel: str, old: bytes | None) -> None:
    """Refuse to overwrite a file the model has not read in its current state."""
    if old is None:
        if rel in state.seen:
            raise ToolError(f"{rel} was deleted since you last read it; check before writing it again")
        return
    if rel not in state.seen:
        raise ToolError(f"read {rel} with read_file before changing it")
    if state.seen[rel] != digest(old):
        raise ToolError(f"{rel} changed on disk since you last read it: read it again, then redo the change")


def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ToolError(f"{name} must be a string")
    return value


def _with_endings(text: str, like: bytes | None) -> bytes:
    """``text`` in the line endings of the file it replaces (CRLF stays CRLF)."""
    if like is not None and b"\r\n" in like:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode("utf-8")


def plan_write(data: dict[str, Any], ctx: ToolContext) -> Change:
    rel, path, old = _target(data, ctx)
    content = _string(data, "content")
    if "\0" in content:
        raise ToolError("content contains NUL characters: only text files can be written")
    return Change(rel, path, old, _with_endings(content, old))


def plan_edit(data: dict[str, Any], ctx: ToolContext) -> Change:
    rel, path, old = _target(data, ctx)
    if old is None:
        raise ToolError(f"{rel} does not exist: create it with write_file")
    snippet, replacement = _string(data, "old_string"), _string(data, "new_string")
    text = old.decode("utf-8").replace("\r\n", "\n")
    snippet, replacement = snippet.replace("\r\n", "\n"), replacement.replace("\r\n", "\n")
    if not snippet:
        raise ToolError("old_string is empty: give the exact text to replace")
    found = text.count(snippet)
    if found == 0:
        raise ToolError(f"old_string was not found in {rel}: copy it exactly (whitespace too) from a fresh read")
    if found > 1:
        raise ToolError(f"old_string appears {found} times in {rel}: include more surrounding lines to make it unique")
    return Change(rel, path, old, _with_endings(text.replace(snippet, replacement, 1), old))


# ---- applying it ------------------------------------------------------------------------------------
def apply(app: App, change: Change) -> str:
    """Ask (unless auto), snapshot, write. The tool result."""
    state = state_of(app)
    _check_fresh(state, change.rel, change.old)
    added, removed = change.counts()
    if change.new == change.old:
        return f"{change.rel} already has this content: nothing changed"
    if state.mode != "auto" and not state.accept_all:
        answer = app.ui.review_edit(change.diff, f"Apply this change to {change.rel}?")
        if answer == "a":
            state.accept_all = True
        elif answer != "y":
            raise ToolError(f"the user declined this change to {change.rel}; the file is unchanged")
    now = change.path.read_bytes() if change.path.is_file() else None
    if now != change.old:  # changed while the person was looking at the diff
        state.seen.pop(change.rel, None)
        raise ToolError(f"{change.rel} changed on disk meanwhile: read it again, then redo the change")
    mode = change.path.stat().st_mode & 0o7777 if change.old is not None else None
    if state.entry is None:
        if state.query is None:  # counted here, not before every query: O(history), and most queries edit nothing
            state.query = len(history.query_starts(app.conversation.messages)) - 1
        state.entry = checkpoints.start_checkpoint(app, state.query)
    checkpoints.record_change(app, state.entry, change.rel, change.old, mode, change.new)
    write_atomic(change.path, change.new, mode)
    state.seen[change.rel] = digest(change.new)
    verb = "created" if change.old is None else "updated"
    return f"{verb} {change.rel} (+{added} −{removed} lines)"


def _summary(plan: Any, ctx: ToolContext, data: dict[str, Any]) -> str:
    """The ⚙ line: the file and +N −M. Never raises: it is shown before the tool runs."""
    try:
        change = plan(data, ctx)
    except Exception:
        return str(data.get("path", ""))
    added, removed = change.counts()
    return f"{change.rel} +{added} −{removed}"


def _recording(app: App, read: Tool) -> Tool:
    """read_file, noting the digest of each file the model reads."""

    def run(data: dict[str, Any], ctx: ToolContext) -> Any:
        output = read.run(data, ctx)
        path = confine(ctx, data.get("path"))
        state_of(app).seen[shown(ctx, path)] = digest(path.read_bytes())
        return output

    return dataclasses.replace(read, run=run)


def edit_tools(app: App) -> list[Tool]:
    """write_file and edit_file (and a read_file that remembers what it read); none when edits are off."""
    if state_of(app).mode == "off":
        return []
    read = next(tool for tool in READ_ONLY_TOOLS if tool.name == "read_file")
    context = ToolContext(project_dir=app.project_dir)
    string = {"type": "string"}
    return [
        _recording(app, read),
        Tool(
            "write_file",
            "Create a text file, or replace all of an existing one (read it first). The user reviews each "
            "change as a diff and may decline it.",
            {"type": "object", "properties": {"path": string, "content": string}, "required": ["path", "content"]},
            lambda data, ctx: apply(app, plan_write(data, ctx)),
            lambda data: _summary(plan_write, context, data),
        ),
        Tool(
            "edit_file",
            "Replace one exact snippet of a text file (read it first): old_string must match the file exactly, "
            "whitespace included, and only once; include surrounding lines to make it unique. The user reviews "
            "each change as a diff and may decline it.",
            {
                "type": "object",
                "properties": {"path": string, "old_string": string, "new_string": string},
                "required": ["path", "old_string", "new_string"],
            },
            lambda data, ctx: apply(app, plan_edit(data, ctx)),
            lambda data: _summary(plan_edit, context, data),
        ),
    ]
