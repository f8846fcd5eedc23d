"""agentwinter: a terminal agent that explores your code project with Claude.

Plugin authors need only::

    from agentwinter_core import hookimpl
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "agentwinter"  # pluggy project name and entry-point group

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
