"""Assembling a running agentwinter: configuration, output, plugins and the agent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agentwinter_core.agent import SYSTEM_PROMPT, Agent
from agentwinter_core.config import load_config
from agentwinter_core.edit_tools import edit_mode
from agentwinter_core.host import PluginManager
from agentwinter_core.state import App
from agentwinter_core.ui import UI


def build_app(
    pm: PluginManager,
    *,
    model: str | None = None,
    allow_shell: bool | None = None,
    edits: str | None = None,
    project_dir: Path | None = None,
    interactive: bool | None = None,
    options: dict[str, Any] | None = None,
) -> App:
    """An App for this process; plugin warnings are routed to its UI from now on."""
    if interactive is None:
        interactive = sys.stdin.isatty()
    config = load_config(model=model, allow_shell=allow_shell or None)
    config.edits = edit_mode(config.edits, edits, interactive)  # from here on: this run's mode
    ui = UI(interactive=interactive)
    pm.warn = ui.warn
    for problem in config.problems:
        ui.warn(problem)
    project = (project_dir or Path.cwd()).resolve()
    return App(
        config=config,
        ui=ui,
        pm=pm,
        project_dir=project,
        model=config.model,
        system_prompt=SYSTEM_PROMPT.format(project_dir=project),
        interactive=interactive,
        options=options or {},
    )


def build_agent(app: App) -> Agent:
    """The agent with every tool plugins offer; a later plugin's tool replaces a same-named one."""
    tools = {tool.name: tool for found in reversed(app.pm.hook.register_tools(app=app)) for tool in found or []}
    return Agent(app, list(tools.values()))
