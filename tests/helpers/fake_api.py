"""A local fake of the Anthropic Messages API: a real HTTP server the real SDK talks to.

It validates histories like the real API (roles, content, tool_use/tool_result pairing, thinking
signatures), streams SSE with the real event sequence, simulates prompt caching in ``usage``, records
every request, and answers from replies scripted per test.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "test-key"
_SECRET = b"fake-api-thinking-secret"
_ids = itertools.count(1)


# ---- scripted replies ----------------------------------------------------------------------------
@dataclass
class Reply:
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    delay: float = 0.0  # seconds between SSE events
    status: int = 200  # an HTTP error when not 200
    error_type: str = ""
    error_message: str = ""
    stream_error: bool = False  # an `event: error` after the first delta
    cut_tool_input: bool = False  # max_tokens in the middle of a tool_use's JSON
    fault: str = ""  # one of FAULTS: a broken stream, a cut connection or a stall
    stall: float = 0.0  # seconds a stall lasts (the fake's stop() ends it early)
    stall_after: int = 1  # text/JSON deltas sent before a "stall" or "cut"


# What can go wrong with a streamed answer, beyond HTTP errors and error events:
FAULTS = {
    "stall_headers": "no response at all for `stall` seconds",
    "stall": "the stream stops sending for `stall` seconds after `stall_after` deltas, then goes on",
    "cut": "the connection is closed after `stall_after` deltas",
    "no_stop": "every event but message_stop",
    "bad_json": "an event whose data is not JSON",
    "not_utf8": "an event whose data is not UTF-8",
    "no_message_start": "content events without a message_start",
    "bad_index": "a delta for a content block that was never started",
    "wrong_shape": "a delta that is a string instead of an object",
    "html": "200 OK with an HTML page instead of an event stream",
    "bad_tool_json": "a tool_use whose streamed input is not JSON",
}


def text(answer: str, delay: float = 0.0) -> Reply:
    return Reply([{"type": "text", "text": answer}], delay=delay)


def tool_uses(calls: list[tuple[str, dict[str, Any]]], text: str | None = None) -> Reply:
    blocks = [{"type": "text", "text": text}] if text else []
    blocks += [{"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": n, "input": i} for n, i in calls]
    return Reply(blocks, stop_reason="tool_use")


def tool_use(name: str, tool_input: dict[str, Any], text: str | None = None) -> Reply:
    return tool_uses([(name, tool_input)], text=text)


def signature(thought: str, prefix: list[dict[str, Any]] | None = None) -> str:
    """A thinking block's signature, bound (like the real API's) to the exact messages before it."""
    return _sign(digest(prefix or []), thought)


def _sign(prefix_digest: str, thought: str) -> str:
    return hmac.new(_SECRET, (prefix_digest + thought).encode(), hashlib.sha256).hexdigest()


def redacted_data(thought: str, prefix: list[dict[str, Any]] | None = None) -> str:
    return f"redacted-{digest(prefix or [])}-{signature(thought, prefix)}"


def digest(messages: list[dict[str, Any]]) -> str:
    running = hashlib.sha256()
    for message in messages:
        running.update(canonical(message))
    return running.hexdigest()[:16]


def canonical(value: Any) -> bytes:
    """Compact JSON with sorted keys: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def with_thinking(reply: Reply, thought: str, redacted: bool = False) -> Reply:
    """The reply preceded by a thinking block (or a redacted one), signed when it is sent."""
    block = (
        {"type": "redacted_thinking", "data": redacted_data(thought), "thought": thought}
        if redacted
        else {"type": "thinking", "thinking": thought, "signature": ""}
    )
    return replace(reply, content=[block, *reply.content])


def _signed(content: list[dict[str, Any]], prefix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sign the reply's thinking for the request's history, as the real API does."""
    signed = []
    for block in content:
        if block["type"] == "thinking":
            block = {**block, "signature": signature(block["thinking"], prefix)}
        elif block["type"] == "redacted_thinking" and "thought" in block:
            block = {"type": "redacted_thinking", "data": redacted_data(block["thought"], prefix)}
        signed.append(block)
    return signed


def max_tokens_cut(tool_name: str) -> Reply:
    reply = tool_use(tool_name, {"path": "a/very/long/path/that/never/ends.py"}, text="Reading.")
    return replace(reply, stop_reason="max_tokens", cut_tool_input=True)


def error(status: int, error_type: str, message: str = "") -> Reply:
    return Reply(status=status, error_type=error_type, error_message=message or f"fake {error_type}")


def stream_error(after_text: str = "partial") -> Reply:
    return Reply([{"type": "text", "text": after_text}], stream_error=True)


def faulty(kind: str, stall: float = 0.0) -> Reply:
    """A reply broken in the way FAULTS[kind] says (a tool_use for bad_tool_json, else text)."""
    assert kind in FAULTS, f"unknown fault {kind!r}"
    if kind == "bad_tool_json":
        return replace(tool_use("read_file", {"path": "app.py"}), fault=kind)
    return Reply([{"type": "text", "text": "a partial answer that goes on"}], fault=kind, stall=stall)


# ---- validation like the real API ----------------------------------------------------------------
class Invalid(Exception):
    pass


def validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("model: Field required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        raise Invalid("max_tokens: Field required")
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or not tool.get("name") or "input_schema" not in tool:
            raise Invalid("tools: each tool needs a name and an input_schema")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages: at least one message is required")
    seen_ids: set[str] = set()
    running = hashlib.sha256()
    for index, message in enumerate(messages):
        _check_message(index, message, messages[index - 1] if index else None, seen_ids, running.hexdigest()[:16])
        running.update(canonical(message))
    if messages[-1]["role"] == "assistant" and _ids_of(messages[-1], "tool_use"):
        raise Invalid(f"messages.{len(messages) - 1}: the final assistant message cannot end with `tool_use`")


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _ids_of(message: dict[str, Any], kind: str) -> list[str]:
    key = "id" if kind == "tool_use" else "tool_use_id"
    return [b.get(key) for b in _blocks(message) if b.get("type") == kind]


def _check_message(
    index: int, message: Any, previous: dict[str, Any] | None, seen: set[str], prefix_digest: str
) -> None:
    where = f"messages.{index}"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise Invalid(f"{where}.role: Input should be 'user' or 'assistant'")
    role = message["role"]
    if index == 0 and role != "user":
        raise Invalid('messages: first message must use the "user" role')
    if previous is not None and previous["role"] == role:
        raise Invalid(f'messages: roles must alternate between "user" and "assistant" ({where})')
    content = message.get("content")
    if isinstance(content, str):
        if not content.strip():
            raise Invalid(f"{where}: text content blocks must contain non-whitespace text")
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise Invalid(f"{where}: all messages must have non-empty content")
    for number, block in enumerate(content):
        _check_block(f"{where}.content.{number}", role, block, seen, prefix_digest)
    _check_pairing(where, message, previous)


def _check_block(where: str, role: str, block: Any, seen: set[str], prefix_digest: str) -> None:
    if not isinstance(block, dict) or "type" not in block:
        raise Invalid(f"{where}: each content block must be an object with a type")
    kind = block["type"]
    allowed = {
        "user": {"text", "image", "document", "tool_result"},
        "assistant": {"text", "tool_use", "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result"},
    }[role]
    if kind not in allowed:
        raise Invalid(f"{where}: block type {kind!r} is not allowed in a {role} message")
    if kind == "text" and not (isinstance(block.get("text"), str) and block["text"].strip()):
        raise Invalid(f"{where}: text content blocks must contain non-whitespace text")
    if kind == "tool_use":
        if block.get("id") in seen:
            raise Invalid(f"{where}: `tool_use` ids must be unique")
        seen.add(block.get("id"))
        if not isinstance(block.get("input"), dict):
            raise Invalid(f"{where}.input: Input should be a valid dictionary")
    if kind == "tool_result":
        _check_result_content(where, block.get("content", ""))
    # A thinking block is bound to the exact history before its message: edit that, and it is refused.
    if kind == "thinking" and block.get("signature") != _sign(prefix_digest, str(block.get("thinking", ""))):
        raise Invalid(f"{where}: Invalid `signature` in `thinking` block (bound to a different conversation)")
    if kind == "redacted_thinking" and not str(block.get("data", "")).startswith(f"redacted-{prefix_digest}-"):
        raise Invalid(f"{where}: Invalid `data` in `redacted_thinking` block (bound to a different conversation)")


def _check_result_content(where: str, content: Any) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise Invalid(f"{where}.content: Input should be a valid string or list")
    for block in content:
        if not isinstance(block, dict) or block.get("type") not in ("text", "image", "document"):
            raise Invalid(f"{where}.content: tool_result content blocks must be text, image or document")
        if block["type"] == "text" and not str(block.get("text", "")).strip():
            raise Invalid(f"{where}.content: text content blocks must contain non-whitespace text")


def _check_pairing(where: str, message: dict[str, Any], previous: dict[str, Any] | None) -> None:
    asked = _ids_of(previous, "tool_use") if previous else []
    answered = _ids_of(message, "tool_result")
    if unexpected := [i for i in answered if i not in asked]:
        raise Invalid(
            f"{where}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {unexpected[0]}. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
        )
    if missing := [i for i in asked if i not in answered]:
        raise Invalid(
            f"{where}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing[0]}. "
            "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
        )
    kinds = [b.get("type") for b in _blocks(message)]
    if answered and kinds[: len(answered)] != ["tool_result"] * len(answered):
        raise Invalid(f"{where}: `tool_result` blocks must come first in the message content")


# ---- prompt caching -----------------------------------------------------------------------------
def _tokens(size: int) -> int:
    return math.ceil(size / 4)


def _prefix_blocks(body: dict[str, Any]) -> list[bytes]:
    """Canonical bytes of each cacheable block in prefix order: tools, system, messages."""
    system = body.get("system") or []
    system = [{"type": "text", "text": system}] if isinstance(system, str) else system
    items: list[Any] = [("tool", t) for t in body.get("tools") or []] + [("system", s) for s in system]
    for message in body["messages"]:
        items += [(message["role"], b) for b in _blocks(message)]
    return [canonical(item) for item in items]


def _uses_cache(body: dict[str, Any]) -> bool:
    return bool(body.get("cache_control")) or "cache_control" in json.dumps(body.get("messages"))


# ---- the server ---------------------------------------------------------------------------------
@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    received: float = 0.0  # time.monotonic() when the request line arrived (the clock is shared by processes)


class FakeAnthropic:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.replies: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        self.failure: Reply | None = None
        self.api_key = API_KEY
        self.released = threading.Event()  # set by stop() (or a test): ends every stall at once
        self.stalled = threading.Event()  # set when a stream stalls: a test acts while the client waits mid-stream
        self.cache_min_tokens = 1024
        self._cache: list[tuple[float, list[bytes]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # control
    def add(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> None:
        with self._lock:
            self.replies.extend(replies)

    def fail_always(self, status: int, error_type: str) -> None:
        self.failure = error(status, error_type)

    def clear_failure(self) -> None:
        self.failure = None

    def message_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == "/v1/messages"]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": self.api_key}

    def start(self) -> FakeAnthropic:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # a short poll interval keeps stop() (and so every test's teardown) fast
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # answering
    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.failure:
                return self.failure
            reply = self.replies.pop(0) if self.replies else text("fake answer")
        return reply(body) if callable(reply) else reply

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        blocks = _prefix_blocks(body)
        total = _tokens(sum(len(b) for b in blocks))
        if not _uses_cache(body) or total < self.cache_min_tokens:
            return {"input_tokens": total, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
        now = time.monotonic()
        with self._lock:
            self._cache = [(t, c) for t, c in self._cache if now - t < 300]
            best = max((_common_bytes(blocks, cached) for _, cached in self._cache), default=0)
            self._cache.append((now, blocks))
        read = _tokens(best) if _tokens(best) >= self.cache_min_tokens else 0
        return {"input_tokens": 0, "cache_read_input_tokens": read, "cache_creation_input_tokens": total - read}


def _common_bytes(blocks: list[bytes], cached: list[bytes]) -> int:
    size = 0
    for mine, theirs in zip(blocks, cached, strict=False):
        if mine != theirs:
            break
        size += len(mine)
    return size


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Without it every small write waits for the client's delayed ACK (Nagle): ~40 ms of fake latency.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # a client that gave up is no error
            super().handle()

    def do_POST(self) -> None:
        received = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        record = Recorded(self.path.split("?")[0], headers, body, received=received)
        self.fake.requests.append(record)
        record.status = self._answer(record)

    def _answer(self, record: Recorded) -> int:
        headers, body = record.headers, record.body
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.fake.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in headers:
            return self._error(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body, dict):
            return self._error(400, "invalid_request_error", "the request body must be a JSON object")
        if record.path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self._error(404, "not_found_error", f"no route {record.path}")
        try:
            validate({"max_tokens": 1, **body} if record.path.endswith("count_tokens") else body)
        except Invalid as exc:
            self.fake.violations.append(str(exc))
            return self._error(400, "invalid_request_error", str(exc))
        if record.path.endswith("count_tokens"):
            return self._json(200, {"input_tokens": _tokens(sum(len(b) for b in _prefix_blocks(body)))})
        reply = self.fake.next_reply(body)
        if reply.fault == "stall_headers":
            self.fake.released.wait(reply.stall)
        if reply.status != 200:
            return self._error(reply.status, reply.error_type, reply.error_message)
        reply = replace(reply, content=_signed(reply.content, body["messages"]))
        message = _message(body, reply, self.fake.usage(body))
        return self._stream(message, reply) if body.get("stream") else self._json(200, message)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> int:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {
            "content-type": "application/json",
            "content-length": str(len(data)),
            "request-id": f"req_{next(_ids)}",
            **(extra or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _error(self, status: int, kind: str, message: str) -> int:
        retry = {"retry-after-ms": "5", "x-should-retry": "true"} if status in (429, 529) or status >= 500 else {}
        return self._json(status, {"type": "error", "error": {"type": kind, "message": message}}, retry)

    def _stream(self, message: dict[str, Any], reply: Reply) -> int:
        self.send_response(200)
        self.send_header("content-type", "text/html" if reply.fault == "html" else "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if reply.fault == "html":
                self.wfile.write(b"<html><body><h1>502 Bad Gateway</h1></body></html>\n")
                return 200
            for number, event in enumerate(_faulty(_events(message, reply), reply.fault)):
                self.wfile.write(event)
                self.wfile.flush()
                if number == 2 + reply.stall_after and reply.fault in ("stall", "cut"):  # after the first deltas
                    if reply.fault == "cut":
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return 200
                    self.fake.stalled.set()
                    self.fake.released.wait(reply.stall)
                if reply.delay:
                    time.sleep(reply.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (e.g. Ctrl-C): nothing to finish
        return 200


def _sse(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _faulty(events: list[tuple[str, dict[str, Any]]], fault: str) -> list[bytes]:
    """The SSE bytes of ``events``, broken as ``fault`` says (unchanged for no fault or a stall)."""
    raw = [_sse(name, data) for name, data in events]
    first_delta = next(i for i, (name, _) in enumerate(events) if name == "content_block_delta")
    if fault == "no_stop":
        return raw[:-1]
    if fault == "no_message_start":
        return raw[1:]
    if fault == "bad_json":
        raw[first_delta] = b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0,\n\n"
    if fault == "not_utf8":
        raw[first_delta] = raw[first_delta].replace(b'"text_delta", "text": "', b'"text_delta", "text": "\xff\xfe')
    if fault == "bad_index":
        raw.insert(first_delta, _sse("content_block_delta", {**events[first_delta][1], "index": 7}))
    if fault == "wrong_shape":
        raw.insert(first_delta, _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": "x"}))
    if fault == "bad_tool_json":
        deltas = [i for i, (name, _) in enumerate(events) if name == "content_block_delta"]
        raw = [event for i, event in enumerate(raw) if i not in deltas[1:]]
        broken = {"type": "input_json_delta", "partial_json": '{"path": ]'}
        raw[deltas[0]] = _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": broken})
    return raw


def _message(body: dict[str, Any], reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
    content = reply.content
    if reply.cut_tool_input:  # the non-streamed form of a cut tool input: an empty input
        content = [{**b, "input": {}} if b["type"] == "tool_use" else b for b in content]
    output = _tokens(len(json.dumps(reply.content)))
    return {
        "id": f"msg_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": output},
    }


def _events(message: dict[str, Any], reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(reply.content):
        events += _block_events(index, block, reply.cut_tool_input)
        if reply.stream_error:
            error_body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            return [*events[:-1], ("error", error_body)]
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": None}
    events.append(
        (
            "message_delta",
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": message["usage"]["output_tokens"]}},
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _chunks(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


def _block_events(index: int, block: dict[str, Any], cut: bool) -> list[tuple[str, dict[str, Any]]]:
    kind = block["type"]
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        opening = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in _chunks(block["text"], 16)]
    elif kind == "tool_use":
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"])
        raw = raw[: len(raw) // 2] if cut else raw
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in _chunks(raw, max(1, len(raw) // 3))]
    elif kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": part} for part in _chunks(block["thinking"], 24)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:  # redacted_thinking and anything else arrive whole
        opening = block
    events = [("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
    if not (cut and kind == "tool_use"):  # a cut tool call never gets its stop
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events
