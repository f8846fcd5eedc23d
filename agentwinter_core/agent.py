"""The Claude tool-use loop: stream a reply, run the tools it asks for, repeat until the turn ends.

The anthropic SDK is never imported at start-up, so ``--help`` stays fast: ``preload`` loads it in the
background and the first query takes its client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from agentwinter_core.state import App, Message, Usage
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
            outcome.error = describe_api_error(exc)
        return outcome

    def _loop(self, messages: list[Message], outcome: Outcome) -> None:
        for _ in range(MAX_TOOL_ROUNDS):
            reply = self._stream(messages)
            outcome.usage.add(Usage.from_api(reply.usage))
            outcome.stop_reason = reply.stop_reason
            content = self.app.pm.hook.serialize_content(content=list(reply.content))
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

    def _stream(self, messages: list[Message]) -> Any:
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
        ui.answer_start()  # before the client: the first query may still wait for the SDK to load
        try:
            with self._get_client().messages.stream(**request) as stream:
                for event in stream:
                    if event.type == "text":
                        ui.answer_text(event.text)
                    elif event.type == "thinking":
                        ui.answer_thinking()
                    elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                        ui.answer_tool(event.content_block.name)
                return stream.get_final_message()
        finally:
            ui.answer_end()

    def _run_tool(self, use: dict[str, Any]) -> dict[str, Any]:
        name, tool_input = use.get("name", ""), use.get("input") or {}
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use["id"]}
        tool = self.tools.get(name)
        with self.app.ui.tool_running(name, tool.summary(tool_input) if tool else ""):
            try:
                if tool is None:
                    raise ToolError(f"unknown tool {name!r}")
                output = tool.run(tool_input, self.context)
            except ToolError as exc:
                output, result["is_error"] = str(exc), True
            except Exception as exc:  # a broken tool must not end the query
                output, result["is_error"] = f"tool {name} failed: {type(exc).__name__}: {exc}", True
        result["content"] = output or "(no output)"  # the API refuses empty content
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


def describe_api_error(exc: Exception) -> str:
    """One line for any failure of an API call, naming what the person can do about it."""
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        base = os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
        kind = "timed out talking to" if isinstance(exc, anthropic.APITimeoutError) else "cannot reach"
        return f"{kind} the API at {base}: check your network and try again"
    if isinstance(exc, anthropic.APIStatusError) and exc.status_code < 300:  # an error event mid-stream
        return f"the API stream failed: {_api_message(exc)}; try again"
    if isinstance(exc, anthropic.APIStatusError):
        detail = _api_message(exc)
        hints = {
            401: "the API key was rejected; check ANTHROPIC_API_KEY",
            403: "the API key may not use this model or resource",
            404: "not found; check the model name (AGENTWINTER_MODEL or --model)",
            429: "rate limited by the API even after retries; wait a minute and try again",
            529: "the API is overloaded even after retries; try again shortly",
        }
        hint = hints.get(
            exc.status_code,
            "the API refused the request" if exc.status_code < 500 else "the API had an internal error; try again",
        )
        return f"{hint} ({exc.status_code}: {detail})"
    if isinstance(exc, anthropic.APIError):  # e.g. an error event in the middle of a stream
        return f"the API stream failed: {_api_message(exc)}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return f"{error.get('type', 'error')}: {error['message']}"
    return str(getattr(exc, "message", exc)).splitlines()[0] if str(exc) else type(exc).__name__
