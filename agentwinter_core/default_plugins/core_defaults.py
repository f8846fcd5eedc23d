"""The core's own hook implementations. All are ``trylast``: any installed plugin overrides them."""

from __future__ import annotations

import json
from typing import Any

from agentwinter_core import hookimpl
from agentwinter_core.state import App, Command, Message


@hookimpl(trylast=True)
def serialize_content(content: list[Any]) -> list[dict[str, Any]]:
    """The SDK's generic JSON form, the same the SDK sends: every block type survives."""
    return [block if isinstance(block, dict) else block.to_dict(mode="json") for block in content]


@hookimpl(trylast=True)
def dump_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@hookimpl(trylast=True)
def cleanup_messages(messages: list[Message]) -> list[Message]:
    return messages  # no cleanup plugin installed: keep everything


@hookimpl
def register_commands() -> list[Command]:
    return [Command("help", "list every command"), Command("plugins", "list the active plugins")]


@hookimpl(trylast=True)
def on_command(app: App, name: str) -> str | None:
    if name == "help":
        return help_text(app)
    if name == "plugins":
        return "\n".join(f"- **{i.name}** ({i.distribution} {i.version}): {i.status}" for i in app.pm.infos())
    return None


def help_text(app: App) -> str:
    commands = sorted(
        (command for found in app.pm.hook.register_commands() for command in found or []),
        key=lambda command: command.name,
    )
    lines = ["Commands (type them at the prompt):", ""]
    lines += [f"- `!{c.name}{' ' + c.usage if c.usage else ''}` — {c.help}" for c in commands]
    lines += ["- `exit`, `quit` or Ctrl-D — leave agentwinter", ""]
    lines += [f"File edits by the agent: **{app.config.edits}** (`edits` in the config, `--edits ask|auto|off`)."]
    return "\n".join(lines)
