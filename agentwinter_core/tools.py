"""What a tool is: the contract between the agent loop and every tool, builtin or from a plugin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A tool returns text, or a list of API content blocks (text, image) for richer results.
ToolOutput = str | list[dict[str, Any]]


class ToolError(Exception):
    """A failure the model should see: sent back as a tool_result with is_error=true."""


@dataclass
class ToolContext:
    """What a running tool may use. Tools never read outside ``project_dir``."""

    project_dir: Path
    # Asks the person at the terminal a yes/no question; False when nobody can answer.
    confirm: Callable[[str], bool] = lambda _question: False
    allow_shell: bool = False
    interactive: bool = False


@dataclass(frozen=True)
class Tool:
    """A tool offered to the model. ``run(input, ctx)`` returns the tool_result content."""

    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[dict[str, Any], ToolContext], ToolOutput]
    # Shown on the dim progress line, e.g. the path for read_file.
    summary: Callable[[dict[str, Any]], str] = field(default=lambda tool_input: "")

    def to_param(self) -> dict[str, Any]:
        """The tool definition as the Messages API expects it."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}
