"""The Claude tool-use loop: stream a reply, run the tools it asks for, repeat until the turn ends.

The anthropic SDK is never imported at start-up, so ``--help`` stays fast: ``preload`` loads it in the
background and the first query takes its client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from agentwinter_core.redact import redact
from agentwinter_core.state import App, Message, Usage
from agentwinter_core.streaming import Collected, MalformedStream, collect
from agentwinter_core.tools import Tool, ToolContext, ToolError

MAX_TOOL_ROUNDS = 100  # a runaway loop costs money; a real exploration needs far fewer rounds

SYSTEM_PROMPT = """You are agentwinter, an assistant that answers questions about the code project in \
{project_dir}.

How to work:
- Simple questions (general knowledge, follow-ups you can answer from this conversation) get a direct \
answer without tools.
- Questions about this project: explore with the tools first (list_files, search, read_file, git), then \
answer from what you read. Do not guess file contents.
- Earlier tool results in this conversation may have been shortened or cleared; run the tool again when \
you need the details.
- Prefer a few targeted searches and reads over reading everything. Quote paths relative to the project.
- Answer concisely in markdown."""


class AgentError(Exception):
    """A failure the person must read: one line, no traceback."""


class StreamBroken(AgentError):
    """The answer stream failed after it began: never retried, the partial answer is dropped."""


@dataclass
class Outcome:
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    error: str | None = None
    interrupted: bool = False
    replies: int = 0  # assistant messages added to the history


class Agent:
    def __init__(self, app: App, tools: list[Tool]) -> None:
        self.app = app
        self.tools = {tool.name: tool for tool in tools}
        self.context = ToolContext(
            project_dir=app.project_dir,
            confirm=app.ui.confirm,
            allow_shell=app.config.allow_shell,
            interactive=app.interactive,
        )
        self._client: Any = None
        self.bad_inputs: dict[str, str] = {}  # tool_use id -> why its streamed input was refused

    def answer(self, messages: list[Message]) -> Outcome:
        """Run the loop on ``messages`` (ending with the user's query), appending to it in place."""
        outcome = Outcome()
        try:
            self._loop(messages, outcome)
        except KeyboardInterrupt:
            outcome.interrupted = True
        except AgentError as exc:
            outcome.error = str(exc)
        except Exception as exc:
            outcome.error = describe_api_error(exc, getattr(self._client, "max_retries", 0))
        return outcome

    def _loop(self, messages: list[Message], outcome: Outcome) -> None:
        for _ in range(MAX_TOOL_ROUNDS):
            reply = self._stream(messages)
            outcome.usage.add(Usage.from_api(reply.usage))
            outcome.stop_reason = reply.stop_reason
            content = self.app.pm.hook.serialize_content(content=list(reply.content))
            self.bad_inputs = reply.bad_inputs
            if reply.stop_reason == "max_tokens" and any(b.get("type") == "tool_use" for b in content):
                # The tool input may be cut mid-JSON; keeping it would poison the history.
                content = [b for b in content if b.get("type") != "tool_use"]
                self.app.ui.warn("the reply hit max_tokens in the middle of a tool call; that call was dropped")
            if not content:
                return
            messages.append({"role": "assistant", "content": content})
            outcome.replies += 1
            uses = [b for b in content if b.get("type") == "tool_use"]
            if uses:
                messages.append({"role": "user", "content": [self._run_tool(use) for use in uses]})
            elif reply.stop_reason != "pause_turn":
                return
        self.app.ui.warn(f"stopped after {MAX_TOOL_ROUNDS} tool rounds; ask again to continue")

    def _stream(self, messages: list[Message]) -> Collected:
        request: dict[str, Any] = {
            "model": self.app.model,
            "max_tokens": self.app.config.max_tokens,
            "system": self.app.system_prompt,
            "messages": messages,
            "cache_control": {"type": "ephemeral"},  # caches the whole prefix, moving with the history
        }
        if self.tools:
            request["tools"] = [tool.to_param() for tool in self.tools.values()]
        ui = self.app.ui
        collected = Collected()
        ui.answer_start()  # before the client: the first query may still wait for the SDK to load
        try:
            self._read(self._get_client(), request, collected)
        finally:
            ui.answer_end()
        if collected.message is None:
            raise StreamBroken(f"the API answered without a message (no message_start event); {NOT_KEPT}")
        if not collected.complete:
            raise StreamBroken(f"the API stream ended before the answer was complete (no message_stop); {NOT_KEPT}")
        return collected

    def _read(self, client: Any, request: dict[str, Any], collected: Collected) -> None:
        """Stream the answer into ``collected``; a failure after the stream began becomes StreamBroken."""
        import anthropic  # loaded by now: the client needs it

        idle = self.app.config.stream_idle_timeout
        try:
            # The read timeout is the idle limit: no byte (events or the API's pings) for that long.
            stream = client.messages.create(**request, stream=True, timeout=anthropic.Timeout(idle, connect=10.0))
            with stream:
                collect(stream, self.app.ui, collected)
        except anthropic.APIStatusError as exc:
            if exc.status_code >= 300:
                raise  # refused before the stream began: described by describe_api_error
            detail = _api_message(exc)
            raise StreamBroken(f"the API stream sent an error event mid-answer ({detail}); {NOT_KEPT}") from exc
        except anthropic.APIError:
            raise
        except Exception as exc:  # raised while reading the events: a cut connection, a stall, broken data
            raise StreamBroken(describe_stream_failure(exc, idle)) from exc

    def _run_tool(self, use: dict[str, Any]) -> dict[str, Any]:
        name, tool_input = use.get("name", ""), use.get("input") or {}
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use["id"]}
        tool = self.tools.get(name)
        with self.app.ui.tool_running(name, tool.summary(tool_input) if tool else ""):
            try:
                if tool is None:
                    raise ToolError(f"unknown tool {name!r}")
                if why := self.bad_inputs.get(use["id"]):
                    raise ToolError(f"the input of this {name} call was {why}; the tool did not run: call it again")
                output = tool.run(tool_input, self.context)
            except ToolError as exc:
                output, result["is_error"] = str(exc), True
            except Exception as exc:  # a broken tool must not end the query
                output, result["is_error"] = f"tool {name} failed: {type(exc).__name__}: {exc}", True
        # A lone surrogate (a non-UTF-8 file name) cannot be sent; left in, it would fail every later query.
        result["content"] = scrub_surrogates(output) or "(no output)"  # the API refuses empty content
        return result

    def _get_client(self) -> Any:
        if self._client is None:
            if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
                raise AgentError(
                    "ANTHROPIC_API_KEY is not set: create a key at https://console.anthropic.com and run "
                    "`export ANTHROPIC_API_KEY=sk-ant-...`"
                )
            from agentwinter_core import preload

            self._client = preload.client()
        return self._client


NOT_KEPT = "not retried, the partial answer was dropped; ask again"


def describe_api_error(exc: Exception, retries: int = 2) -> str:
    """One line for a failed API request: what failed, whether it was retried, what the person can do."""
    import anthropic

    tried = f"after {retries} retries" if retries else "not retried"
    if isinstance(exc, anthropic.APITimeoutError):
        return redact(
            f"no answer from the API at {_base_url()} within the idle limit, {tried}: try again, or raise "
            "[agentwinter] stream_idle_timeout"
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return redact(f"cannot reach the API at {_base_url()}, {tried}: check your network and try again")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        retried = status in (408, 409, 429) or status >= 500  # the ones the SDK retries
        hints = {
            401: "the API key was rejected; check ANTHROPIC_API_KEY",
            403: "the API key may not use this model or resource",
            404: "not found; check the model name (AGENTWINTER_MODEL or --model)",
            413: "the request is too large for the API; start a new conversation",
            429: "rate limited by the API; wait a minute and try again",
            529: "the API is overloaded; try again shortly",
        }
        hint = hints.get(
            status, "the API refused the request" if status < 500 else "the API had an internal error; try again"
        )
        return redact(f"{hint} ({status}: {_api_message(exc)}; {tried if retried else 'not retried'})")
    if isinstance(exc, anthropic.APIError):
        return redact(f"the API call failed: {_api_message(exc)}; try again")
    return redact(f"unexpected {type(exc).__name__}: {exc}")


def describe_stream_failure(exc: Exception, idle: float) -> str:
    """One line for a stream that broke after it began (the SDK does not retry these)."""
    name = type(exc).__name__
    if "Timeout" in name:  # the transport's read timeout: no byte for ``idle`` seconds
        return (
            f"no event from the API for {idle:g} s: the answer was cancelled ({NOT_KEPT}); "
            "raise [agentwinter] stream_idle_timeout for slow answers"
        )
    if isinstance(exc, MalformedStream | ValueError | TypeError | AttributeError | KeyError | IndexError):
        return redact(f"the API sent a malformed stream ({name}: {str(exc)[:200]}); {NOT_KEPT}")
    return redact(f"the API stream broke off ({name}: {str(exc)[:200]}); {NOT_KEPT}")


def scrub_surrogates(output: Any) -> Any:
    """Tool output with lone surrogates (undecodable bytes of file names) replaced by U+FFFD."""
    if isinstance(output, str):
        return output.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(output, list):
        return [{k: scrub_surrogates(v) for k, v in b.items()} if isinstance(b, dict) else b for b in output]
    return output


def _base_url() -> str:
    return os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return f"{error.get('type', 'error')}: {error['message']}"
    return str(getattr(exc, "message", exc)).splitlines()[0] if str(exc) else type(exc).__name__
