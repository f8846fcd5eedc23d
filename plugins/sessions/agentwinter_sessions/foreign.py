"""Conversations of other agents made into sessions: a Claude Code transcript, a Codex rollout.

Each reader turns one JSONL file into a history the Messages API accepts with agentwinter's own tools:
text kept; the calls agentwinter has a tool for (reading, listing, searching, writing, editing project
files) stay tool_use/tool_result pairs; every other call and its result is folded into readable text;
thinking is dropped (its signatures are bound to the other conversation). A line that is not JSON is
skipped and said, with its number; records the reader does not know are skipped and counted. The
source file is only read.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from agentwinter_core.api import Message, UsageError, history

SOURCES = ("claude-code", "codex")
FOLD_LIMIT = 50_000  # characters of one folded tool result kept in the text
CALL_LIMIT = 2_000  # characters of one folded tool call's arguments
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOOL_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
INJECTED = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions")  # Codex's own context


@dataclass
class Imported:
    """A foreign conversation read into a history, with what was left out."""

    messages: list[Message]
    name: str
    origin: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # one line per line of the file that could not be read
    skipped: Counter[str] = field(default_factory=Counter)

    def skipped_text(self) -> str:
        return ", ".join(f"{count} {what}" for what, count in sorted(self.skipped.items()))


# ---- reading the lines ------------------------------------------------------------------------------------
def records(path: Path, strict: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON objects of a JSONL file, and one line for each line that is not one (``strict``: refused)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    found, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            cut = number == len(lines)  # no newline after it: the writer stopped mid-record
            problems.append(f"line {number}: " + ("cut short (the file ends inside it)" if cut else "not valid JSON"))
            continue
        if isinstance(value, dict):
            found.append(value)
        else:
            problems.append(f"line {number}: a JSON {type(value).__name__}, not a record")
    if problems and strict:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"{path} {problems[0]}{more}: not imported (--strict); without --strict it is skipped")
    return found, problems


# ---- shared conversion ------------------------------------------------------------------------------------
def _text(text: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}] if isinstance(text, str) and text.strip() else []


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _image(block: dict[str, Any]) -> list[dict[str, Any]]:
    """An image block the API accepts, or a word saying one was there."""
    source = block.get("source")
    if isinstance(source, dict) and (
        (source.get("type") == "base64" and isinstance(source.get("data"), str) and source.get("media_type"))
        or (source.get("type") == "url" and isinstance(source.get("url"), str))
    ):
        return [{"type": "image", "source": source}]
    return _text("[an image that could not be imported]")


def _result_blocks(content: Any) -> list[dict[str, Any]]:
    """Tool output as text and image blocks (other kinds become text)."""
    found: list[dict[str, Any]] = []
    for block in history.content_blocks(content):
        kind = block.get("type")
        if kind == "text":
            found += _text(block.get("text"))
        elif kind == "image":
            found += _image(block)
        else:
            found += _text(orjson.dumps(block).decode())
    return found


def _folded_call(source: str, name: str, arguments: Any) -> list[dict[str, Any]]:
    shown = arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()
    return _text(f"[{source} called its tool {name}: {_cut(shown, CALL_LIMIT)}]")


def _folded_result(name: str, output: list[dict[str, Any]], failed: bool) -> list[dict[str, Any]]:
    texts = "\n".join(b["text"] for b in output if b["type"] == "text") or "(no output)"
    head = f"[{name} {'failed' if failed else 'answered'}:]\n{_cut(texts, FOLD_LIMIT)}"
    return [*_text(head), *[b for b in output if b["type"] == "image"]]


def _kind(record: dict[str, Any]) -> str | None:
    """A record's or a block's type, when it is a string."""
    kind = record.get("type")
    return kind if isinstance(kind, str) else None


def _short_id(session: str) -> str:
    """The first 8 characters of the other agent's session id, as a session name can hold them."""
    return re.sub(r"[^A-Za-z0-9_.-]", "", session)[:8] or "import"


def _append(messages: list[Message], role: str, content: list[dict[str, Any]]) -> None:
    """Add blocks as a message of ``role``, into the last message when it has that role already (a turn the
    other agent recorded in parts): repair would answer its tool uses before merging the parts."""
    if not content:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"] += content
    else:
        messages.append({"role": role, "content": content})


def _finished(messages: list[Message], what: str) -> list[Message]:
    """The history made valid (same roles merged, a first assistant turn dropped); refused when empty."""
    fixed = history.repair(messages, "(no result in the imported conversation)")
    if not fixed:
        raise UsageError(f"{what} holds no conversation to import")
    return fixed


# ---- Claude Code ------------------------------------------------------------------------------------------
def claude_projects() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude") / "projects"


def claude_transcripts(project_dir: Path) -> list[Path]:
    """This directory's Claude Code transcripts, newest first (Claude Code names a project's folder after its
    path with every character other than a letter or digit replaced by '-'; older versions only '/')."""
    here = str(Path(project_dir).resolve())
    for folder in dict.fromkeys((re.sub(r"[^A-Za-z0-9]", "-", here), here.replace("/", "-"))):
        found = sorted((claude_projects() / folder).glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
        if found:
            return found
    return []


def pick_claude(project_dir: Path, ref: str | None, latest: bool) -> Path | None:
    """The transcript ``ref`` (an id prefix) or ``latest`` names among this directory's; None: just list them."""
    found = claude_transcripts(project_dir)
    if ref is None and not latest:
        return None
    if not found:
        raise UsageError(f"no Claude Code transcripts for {project_dir} in {claude_projects()}")
    if latest:
        return found[0]
    matches = [path for path in found if path.stem.startswith(ref or "")]
    if len(matches) != 1:
        which = "no transcript" if not matches else f"{len(matches)} transcripts"
        raise UsageError(f"{which} of this directory match '{ref}': give more of the id (listed without it)")
    return matches[0]


def first_prompt(path: Path) -> str:
    """The first words typed in a transcript (for the list), read without loading the whole file."""
    try:
        with path.open("rb") as handle:
            for line in handle:
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("type") == "user" and _plain(record):
                    texts = [b["text"] for b in _user_blocks(record.get("message"), Counter()) if b["type"] == "text"]
                    if texts:
                        return " ".join(" ".join(texts).split())[:70]
    except OSError:
        pass
    return ""


def _message(record: dict[str, Any]) -> dict[str, Any]:
    return record["message"] if isinstance(record.get("message"), dict) else {}


def _plain(record: dict[str, Any]) -> bool:
    return not record.get("isSidechain") and not record.get("isMeta")


def claude_code(path: Path, strict: bool = False) -> Imported:
    """A Claude Code transcript: the main thread (the last record's parentUuid chain), sidechains left out."""
    found, problems = records(path, strict)
    skipped: Counter[str] = Counter()
    main = [r for r in found if isinstance(r.get("uuid"), str) and not r.get("isSidechain")]
    skipped["sidechain records"] = sum(1 for r in found if r.get("isSidechain"))
    for record in found:
        if record.get("type") not in ("user", "assistant", "system", "summary") and not record.get("isSidechain"):
            skipped[f"{record.get('type') or 'untyped'} records"] += 1
    chain = _main_thread(main)
    on_chain = {id(r) for r in chain}
    skipped["records off the main thread"] = sum(  # abandoned branches, what a compaction summarised
        1 for r in main if id(r) not in on_chain and r.get("type") in ("user", "assistant") and not _answers_only(r)
    )
    results = {
        block.get("tool_use_id"): block
        for record in main
        if record.get("type") == "user"
        for block in history.content_blocks(_message(record).get("content"))
        if block.get("type") == "tool_result"
    }
    cwd = next((r["cwd"] for r in reversed(chain) if isinstance(r.get("cwd"), str)), "")
    messages = _claude_messages(chain, results, cwd, skipped)
    session = next((r["sessionId"] for r in found if isinstance(r.get("sessionId"), str)), "") or path.stem
    model = next((m for r in reversed(chain) if isinstance(m := _message(r).get("model"), str)), "")
    origin = _origin("claude-code", path, session, cwd, model, skipped, problems)
    return Imported(_finished(messages, str(path)), f"claude-{_short_id(session)}", origin, problems, +skipped)


def _answers_only(record: dict[str, Any]) -> bool:
    """A user record holding only tool results (placed beside their calls, wherever the record is)."""
    if record.get("type") != "user":
        return False
    blocks = history.content_blocks(_message(record).get("content"))
    return bool(blocks) and all(b.get("type") == "tool_result" for b in blocks)


def _main_thread(main: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """From the last message back to its root through parentUuid. A parent that is missing (its line could
    not be read) is bridged by the record before it in the file, so one bad line does not cut the thread."""
    messages = [r for r in main if r.get("type") in ("user", "assistant")]
    if not messages:
        return []
    by_uuid = {r["uuid"]: r for r in main}
    position = {id(r): index for index, r in enumerate(main)}
    chain, seen = [], set()
    current: dict[str, Any] | None = messages[-1]
    while current is not None and current["uuid"] not in seen:
        chain.append(current)
        seen.add(current["uuid"])
        parent = current.get("parentUuid")
        if not isinstance(parent, str):
            break  # the root, or a compaction boundary: what came before is in its summary
        index = position[id(current)]
        current = by_uuid.get(parent) or (main[index - 1] if index else None)
    return chain[::-1]


CLAUDE_TOOLS: dict[str, Callable[[dict[str, Any], str], tuple[str, dict[str, Any]] | None]] = {}


def _claude_tool(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        CLAUDE_TOOLS[name] = function
        return function

    return register


def _relative(path: Any, cwd: str) -> str | None:
    """A path of the other agent as a project path: relative, inside the directory it worked in."""
    if not isinstance(path, str) or not path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute():
        if not cwd or not pure.is_relative_to(cwd):
            return None
        pure = pure.relative_to(cwd)
    if ".." in pure.parts:
        return None
    return pure.as_posix() or "."


@_claude_tool("Read")
def _read(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    path = _relative(data.get("file_path"), cwd)
    if path is None:
        return None
    arguments: dict[str, Any] = {"path": path}
    start, count = data.get("offset"), data.get("limit")
    if isinstance(start, int) or isinstance(count, int):
        arguments["start_line"] = start if isinstance(start, int) and start > 0 else 1
        if isinstance(count, int) and count > 0:
            arguments["end_line"] = arguments["start_line"] + count - 1
    return "read_file", arguments


@_claude_tool("Write")
def _write(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    path = _relative(data.get("file_path"), cwd)
    if path is None or not isinstance(data.get("content"), str):
        return None
    return "write_file", {"path": path, "content": data["content"]}


@_claude_tool("Edit")
def _edit(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    path = _relative(data.get("file_path"), cwd)
    strings = [data.get("old_string"), data.get("new_string")]
    if path is None or data.get("replace_all") or not all(isinstance(s, str) for s in strings):
        return None  # edit_file replaces one occurrence only
    return "edit_file", {"path": path, "old_string": strings[0], "new_string": strings[1]}


@_claude_tool("Grep")
def _grep(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(data.get("pattern"), str):
        return None
    arguments: dict[str, Any] = {"pattern": data["pattern"]}
    if data.get("path") is not None:
        if (path := _relative(data["path"], cwd)) is None:
            return None
        arguments["path"] = path
    if isinstance(data.get("glob"), str):
        arguments["glob"] = data["glob"]
    if data.get("-i") is True:
        arguments["ignore_case"] = True
    return "search", arguments


@_claude_tool("Glob")
def _glob(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    pattern = data.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        return None
    *folders, name = pattern.split("/")
    folders = [part for part in folders if part != "**"]
    if any(set(part) & set("*?[") for part in folders):
        return None  # list_files matches file names only
    base = _relative(data["path"], cwd) if data.get("path") is not None else "."
    if base is None:
        return None
    return "list_files", {"path": PurePosixPath(base, *folders).as_posix(), "pattern": name}


@_claude_tool("LS")
def _ls(data: dict[str, Any], cwd: str) -> tuple[str, dict[str, Any]] | None:
    path = _relative(data.get("path"), cwd)
    return None if path is None else ("list_files", {"path": path})


def _claude_messages(
    chain: list[dict[str, Any]], results: dict[Any, dict[str, Any]], cwd: str, skipped: Counter[str]
) -> list[Message]:
    """The chain as messages; each call's result (found by id: parallel results may sit on other branches)
    comes in the user message after the assistant turn that made the call."""
    messages: list[Message] = []
    pending: list[tuple[dict[str, Any], bool]] = []  # (tool_use, kept structured) of the open assistant turn
    seen: set[str] = set()  # ids of the tool uses kept structured
    turn = None

    def answer() -> None:
        structured, folded = [], []
        for use, kept in pending:
            result = results.get(use.get("id"))
            output = _result_blocks(result.get("content")) if result else []
            failed = bool(result and result.get("is_error"))
            if kept:
                content = output or ("(no output)" if result else "(no result in the imported conversation)")
                structured.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": use["id"],
                        "content": content,
                        "is_error": failed or not result,
                    }
                )
            elif result:
                folded += _folded_result(str(use.get("name")), output, failed)
        pending.clear()
        _append(messages, "user", structured + folded)

    for record in chain:
        message = _message(record)
        if record.get("type") == "assistant":
            if message.get("id") != turn:
                answer()  # a new response: the previous one's calls were answered before it
            turn = message.get("id")
            here = record["cwd"] if isinstance(record.get("cwd"), str) else cwd  # it may have changed directory
            _append(messages, "assistant", _assistant_blocks(message, here, pending, seen, skipped))
            continue
        answer()
        turn = None
        if record.get("type") != "user":
            continue  # system records: boundaries, hooks, errors of the other tool
        if record.get("isMeta") and not record.get("isCompactSummary"):
            skipped["meta messages"] += 1
            continue
        _append(messages, "user", _user_blocks(message, skipped))
    answer()
    return messages


def _user_blocks(message: Any, skipped: Counter[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in history.content_blocks(message.get("content") if isinstance(message, dict) else None):
        kind = block.get("type")
        if kind == "text":
            blocks += _text(block.get("text"))
        elif kind == "image":
            blocks += _image(block)
        elif kind != "tool_result":  # results are placed beside their calls
            skipped[f"{kind} blocks"] += 1
    return blocks


def _assistant_blocks(
    message: dict[str, Any],
    cwd: str,
    pending: list[tuple[dict[str, Any], bool]],
    seen: set[str],
    skipped: Counter[str],
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in history.content_blocks(message.get("content")):
        kind = block.get("type")
        if kind == "text":
            blocks += _text(block.get("text"))
        elif kind == "tool_use":
            name, data = str(block.get("name")), block.get("input") if isinstance(block.get("input"), dict) else {}
            mapper = CLAUDE_TOOLS.get(name)
            usable = TOOL_ID.fullmatch(str(block.get("id"))) and block["id"] not in seen
            mapped = mapper(data, cwd) if mapper is not None and usable else None
            if mapped is not None:
                seen.add(block["id"])  # the API wants each tool_use id once; a repeated record is folded
                blocks.append({"type": "tool_use", "id": block["id"], "name": mapped[0], "input": mapped[1]})
            else:
                blocks += _folded_call("Claude Code", name, data)
            pending.append((block, mapped is not None))
        elif kind in ("thinking", "redacted_thinking"):
            skipped["thinking blocks"] += 1
        else:
            skipped[f"{kind} blocks"] += 1
    return blocks


# ---- Codex ------------------------------------------------------------------------------------------------
ITEM_TYPES = {
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "local_shell_call",
    "web_search_call",
}


def codex(path: Path, strict: bool = False) -> Imported:
    """A Codex rollout: its response items in order; events (a second copy of them) and turn settings left out."""
    found, problems = records(path, strict)
    skipped: Counter[str] = Counter()
    messages: list[Message] = []
    calls: dict[str, str] = {}  # call_id -> tool name
    meta: dict[str, Any] = {}
    model = ""
    for record in found:
        kind, payload = _kind(record), record.get("payload")
        if kind == "session_meta" and isinstance(payload, dict):
            meta = payload
        elif kind == "response_item" and isinstance(payload, dict):
            _codex_item(payload, messages, calls, skipped)
        elif kind in ITEM_TYPES and payload is None:  # the older form: items without their envelope
            _codex_item(record, messages, calls, skipped)
        elif kind == "compacted" and isinstance(payload, dict):
            summary = _text(payload.get("message"))
            messages[:] = [{"role": "user", "content": summary}] if summary else []
        elif kind == "turn_context" and isinstance(payload, dict):
            model = str(payload.get("model") or model)
        elif kind == "event_msg" or record.get("record_type") == "state":
            continue
        elif kind is None and "instructions" in record and "id" in record:
            meta = record  # the older form's first line
        else:
            skipped[f"{kind or 'untyped'} records"] += 1
    session = str(meta.get("id") or "")
    if not session:
        stem = UUID.search(path.stem)
        session = stem.group(0) if stem else path.stem
    cwd = meta.get("cwd") if isinstance(meta.get("cwd"), str) else ""
    origin = _origin("codex", path, session, cwd, model, skipped, problems)
    return Imported(_finished(messages, str(path)), f"codex-{_short_id(session)}", origin, problems, +skipped)


def _codex_item(item: dict[str, Any], messages: list[Message], calls: dict[str, str], skipped: Counter[str]) -> None:
    kind = _kind(item)
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant"):
            skipped[f"{role} messages"] += 1
            return
        _append(messages, role, _codex_content(item.get("content"), skipped))
    elif kind == "reasoning":
        skipped["reasoning items"] += 1
    elif kind in ("function_call", "custom_tool_call", "local_shell_call"):
        name = str(item.get("name") or "shell")
        calls[str(item.get("call_id"))] = name
        arguments = item.get("arguments", item.get("input", item.get("action")))
        _append(messages, "assistant", _folded_call("Codex", name, _codex_arguments(arguments)))
    elif kind in ("function_call_output", "custom_tool_call_output"):
        text, failed = _codex_output(item.get("output"))
        name = calls.get(str(item.get("call_id")), "a tool")
        _append(messages, "user", _folded_result(name, _text(text), failed))
    elif kind == "web_search_call":
        action = item.get("action") if isinstance(item.get("action"), dict) else {}
        _append(messages, "assistant", _folded_call("Codex", "web_search", action))
    else:
        skipped[f"{kind} items"] += 1


def _codex_content(content: Any, skipped: Counter[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            if str(part.get("text", "")).lstrip().startswith(INJECTED):
                skipped["context blocks Codex added"] += 1
            else:
                blocks += _text(part.get("text"))
        elif kind == "input_image":
            blocks += _data_image(part.get("image_url"))
        else:
            skipped[f"{kind} blocks"] += 1
    return blocks


def _data_image(url: Any) -> list[dict[str, Any]]:
    found = re.fullmatch(r"data:(image/[a-z+.-]+);base64,(.+)", url, re.S) if isinstance(url, str) else None
    if found:
        return [{"type": "image", "source": {"type": "base64", "media_type": found[1], "data": found[2]}}]
    return _image({"source": {"type": "url", "url": url}}) if isinstance(url, str) else _image({})


def _codex_arguments(arguments: Any) -> Any:
    """A shell call as its command line; other arguments as given (JSON text decoded)."""
    if isinstance(arguments, str):
        try:
            arguments = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return arguments
    command = arguments.get("command") if isinstance(arguments, dict) else None
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        if command[:2] in (["bash", "-lc"], ["bash", "-c"], ["sh", "-c"]) and len(command) == 3:
            return command[2]
        return shlex.join(command)
    return arguments


def _codex_output(output: Any) -> tuple[str, bool]:
    """(text, failed) of a call's output: a string, or JSON with the output and its exit code."""
    if isinstance(output, str):
        try:
            decoded = orjson.loads(output)
        except orjson.JSONDecodeError:
            return output, False
        output = decoded if isinstance(decoded, dict) else output
    if isinstance(output, dict):
        metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
        code = metadata.get("exit_code")
        text = str(output.get("output", output.get("content", "")))
        failed = (isinstance(code, int) and code != 0) or output.get("success") is False
        return (f"{text}\n(exit code {code})" if failed and isinstance(code, int) else text), failed
    return str(output), False


# ---- the session document ---------------------------------------------------------------------------------
def _origin(
    source: str, path: Path, session: str, cwd: str, model: str, skipped: Counter[str], problems: list[str]
) -> dict[str, Any]:
    return {
        "source": source,
        "file": str(path.resolve()),
        "session": session,
        "cwd": cwd,
        "model": model,
        "imported": time.time(),
        "skipped": dict(+skipped),
        "unreadable_lines": len(problems),
    }


def read(source: str, path: Path, strict: bool) -> Imported:
    if source not in SOURCES:
        raise UsageError(f"--from is claude-code or codex, not {source!r}")
    return (claude_code if source == "claude-code" else codex)(path, strict)


def origin_text(origin: Any) -> str:
    """Where an imported session came from, in one line ('' for a session started here)."""
    if not isinstance(origin, dict) or origin.get("source") not in SOURCES:
        return ""
    label = "Claude Code" if origin["source"] == "claude-code" else "Codex"
    when = origin.get("imported")
    day = time.strftime(" on %Y-%m-%d %H:%M", time.localtime(when)) if isinstance(when, (int, float)) else ""
    return f"imported from {label} session {origin.get('session', '?')} ({origin.get('file', '?')}){day}"


def document(imported: Imported, cwd: str, repository: str) -> bytes:
    """A new session document holding the imported conversation, found from ``cwd`` and ``repository``."""
    from agentwinter_sessions.document import FORMAT, new_id
    from agentwinter_sessions.tracking import owner

    now = time.time()
    return orjson.dumps(
        {
            "messages": imported.messages,
            "format": FORMAT,
            "id": new_id(now),
            "name": imported.name,
            "owner": owner(),
            "created": now,
            "updated": now,
            "cwd": cwd,
            "repository": repository,
            "model": imported.origin.get("model") or "",
            "usage": {},
            "metadata": {"origin": imported.origin},  # metadata travels with every later save and fork
            "version": 1,
        }
    )
