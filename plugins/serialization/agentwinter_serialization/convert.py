"""Content blocks and other values to JSON-safe data (dicts, lists, str, int, finite float, bool, None).

One generic path for every block type: SDK models go through their own ``to_dict(mode="json")`` (the form
the SDK sends, without the fields the API did not send), so block types this code has never heard of
survive as they came. ``anthropic`` is never imported here: models are recognised by duck typing, which
keeps agentwinter's start-up fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# Exact types that are already JSON-safe (subclasses such as enums take the slow path and are unwrapped).
_SCALARS = frozenset({str, int, bool, type(None)})


class _Unsafe(TypeError):
    """Raised deep inside the fast walk; the public functions re-raise it with the value's location."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def to_json_safe(value: Any) -> Any:
    """A fresh JSON-safe copy of ``value``; ``TypeError`` (naming where) if some part cannot be converted."""
    try:
        return _safe(value)
    except _Unsafe as exc:
        raise TypeError(f"cannot make {_locate(value, 'value') or 'value'} JSON-safe: {exc.reason}") from None


def content_to_dicts(content: Iterable[Any]) -> list[dict[str, Any]]:
    """One reply's content blocks (SDK objects or dicts) as JSON-safe dicts the Messages API accepts back."""
    if isinstance(content, str | bytes | Mapping):
        raise TypeError(f"content must be a list of blocks, not {type(content).__name__}")
    blocks = list(content)
    try:
        converted = [_safe(block) for block in blocks]
    except _Unsafe as exc:
        raise TypeError(f"cannot make {_locate(blocks, 'content')} JSON-safe: {exc.reason}") from None
    for index, block in enumerate(converted):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise TypeError(f"content[{index}] is not a content block (a dict with a 'type'): {block!r:.80}")
    return converted


def _safe(value: Any) -> Any:
    """The fast walk: exact-type checks first, since nearly everything is a plain dict, list or str."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {_key(key): _safe(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_safe(item) for item in value]
    if kind is float:
        return _finite(value)
    return _safe_other(value)


def _safe_other(value: Any) -> Any:
    """Subclasses (enums, OrderedDict, …) and models: the rare cases, kept off the fast path."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str.__str__(value)  # a str enum's value, as a plain str
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(float(value))
    if isinstance(value, Mapping):
        return {_key(key): _safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    if hasattr(value, "model_dump"):
        return _safe(_dump_model(value))
    raise _Unsafe(f"{type(value).__module__}.{type(value).__qualname__} is not JSON-serializable")


def _dump_model(model: Any) -> Any:
    """A pydantic model as the API sent it: by alias, unset fields left out (no null padding)."""
    try:
        if hasattr(model, "to_dict"):  # an anthropic SDK model: exactly what the SDK itself would send
            return model.to_dict(mode="json", warnings=False)
        return model.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)
    except (TypeError, ValueError) as exc:  # pydantic's serialization errors are ValueErrors
        raise _Unsafe(f"{type(model).__qualname__} could not be dumped: {exc}") from None


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    raise _Unsafe(f"dict key {key!r} ({type(key).__name__}) is not a string, as JSON keys must be")


def _finite(number: float) -> float:
    if math.isfinite(number):
        return number
    raise _Unsafe(f"{number} is not a valid JSON number")


def _locate(value: Any, where: str) -> str:
    """The path of the first part of ``value`` that cannot be converted (a slow walk, run only on error)."""
    try:
        _safe(value)
        return ""
    except _Unsafe:
        pass
    children: Iterable[tuple[str, Any]] = ()
    if isinstance(value, Mapping):
        children = ((f"{where}.{key}", item) for key, item in value.items())
        if any(not isinstance(key, str) for key in value):
            return where
    elif isinstance(value, list | tuple):
        children = ((f"{where}[{index}]", item) for index, item in enumerate(value))
    elif hasattr(value, "model_dump"):
        try:
            return _locate(_dump_model(value), where)
        except _Unsafe:
            return where
    for child_where, child in children:
        found = _locate(child, child_where)
        if found:
            return found
    return where
