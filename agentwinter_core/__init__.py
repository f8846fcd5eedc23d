"""agentwinter: a terminal agent that explores your code project with Claude.

Plugins import from the public API only (``agentwinter_core.api``)::

    from agentwinter_core.api import hookimpl

``hookimpl`` stays importable from here for plugins written before the API existed.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

PROJECT_NAME = "agentwinter"  # pluggy project name and entry-point group

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]

if TYPE_CHECKING:
    import pluggy

    hookimpl: pluggy.HookimplMarker
    hookspec: pluggy.HookspecMarker


def __getattr__(name: str) -> Any:
    """``hookimpl`` and ``hookspec``, made on first use: ``--version`` and a cached ``--help`` never load pluggy."""
    if name not in ("hookimpl", "hookspec"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pluggy

    marker = (pluggy.HookimplMarker if name == "hookimpl" else pluggy.HookspecMarker)(PROJECT_NAME)
    globals()[name] = marker
    return marker
