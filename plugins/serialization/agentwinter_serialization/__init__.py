"""agentwinter plugin ``serialization``: JSON-safe content blocks and byte-deterministic JSON.

Registered through the entry point ``agentwinter: serialization``. Its hooks are ``trylast`` defaults
too: they override the core's (registered after every installed plugin), and any other plugin's plain
``serialize_content`` or ``dump_json`` wins over them, whatever the entry-point order.
"""

from __future__ import annotations

from typing import Any

import orjson  # light (a compiled extension), unlike anthropic, which is never imported here

from agentwinter_core.api import hookimpl
from agentwinter_serialization.convert import content_to_dicts, to_json_safe

__version__ = "0.1.0"
__all__ = ["content_to_dicts", "dump_json", "serialize_content", "to_json_safe"]

# Sorted keys make the bytes independent of dict insertion order; orjson is compact and UTF-8 already.
_OPTIONS = orjson.OPT_SORT_KEYS


@hookimpl(trylast=True)
def serialize_content(content: list[Any]) -> list[dict[str, Any]]:
    """Every block through the SDK's generic ``to_dict(mode="json")``; dicts normalised recursively."""
    return content_to_dicts(content)


@hookimpl(trylast=True)
def dump_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes with sorted keys: the same value always gives the same bytes."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def _default(value: Any) -> Any:
    """Called by orjson only for types it does not know (SDK models, Mappings): convert them generically."""
    return to_json_safe(value)
