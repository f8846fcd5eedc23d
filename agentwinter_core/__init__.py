"""agentwinter: a terminal agent that explores your code project with Claude.

Plugin authors need only::

    from agentwinter_core import hookimpl
"""

from typing import Any

__version__ = "0.1.0"

PROJECT_NAME = "agentwinter"  # pluggy project name and entry-point group

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]


def __getattr__(name: str) -> Any:
    """``hookimpl`` and ``hookspec``, made on first use: ``--version`` and a cached ``--help`` never load pluggy."""
    if name not in ("hookimpl", "hookspec"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pluggy

    marker = (pluggy.HookimplMarker if name == "hookimpl" else pluggy.HookspecMarker)(PROJECT_NAME)
    globals()[name] = marker
    return marker
