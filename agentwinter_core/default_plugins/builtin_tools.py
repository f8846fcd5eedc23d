"""The builtin project tools as a plugin (``trylast``: an installed plugin's same-named tool wins)."""

from __future__ import annotations

from agentwinter_core import hookimpl
from agentwinter_core.edit_tools import edit_tools
from agentwinter_core.project_tools import builtin_tools
from agentwinter_core.state import App
from agentwinter_core.tools import Tool


@hookimpl(trylast=True)
def register_tools(app: App) -> list[Tool]:
    # The shell needs a person to confirm each call, unless --allow-shell said yes for all.
    # write_file and edit_file as well, unless edits are off (the default without a terminal).
    return [*builtin_tools(include_shell=app.interactive or app.config.allow_shell), *edit_tools(app)]
