"""The plugin host: one pluggy manager with the defaults and every installed plugin.

Defaults are marked ``trylast`` and registered *after* the installed plugins: pluggy calls the
trylast implementations registered later after those registered earlier, so any installed plugin
overrides them — even a plugin whose own implementation is a ``trylast`` default (like cleanup's).
Installed plugins come from the entry-point group ``agentwinter``; names listed in
``AGENTWINTER_DISABLE_PLUGINS`` are blocked before their module is imported.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from agentwinter_core import PROJECT_NAME, __version__, hookspecs
from agentwinter_core.redact import redact
from agentwinter_core.state import UsageError

DISABLE_ENV = "AGENTWINTER_DISABLE_PLUGINS"
DEFAULT_PLUGINS = {
    "core_defaults": "agentwinter_core.default_plugins.core_defaults",
    "builtin_tools": "agentwinter_core.default_plugins.builtin_tools",
    "edits": "agentwinter_core.default_plugins.edits",
}
Warn = Callable[[str], None]


def _stderr_warning(message: str) -> None:
    print(f"warning: {redact(message)}", file=sys.stderr)


@dataclass
class PluginInfo:
    """One line of ``agentwinter plugins``."""

    name: str
    distribution: str
    version: str
    status: str  # "active", "blocked", "failed" or "ignored" (its name is another plugin's)
    hooks: list[str] = field(default_factory=list)
    error: str = ""


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and warns instead of crashing."""

    def __init__(self, warn: Warn = _stderr_warning) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.warn = warn
        self.origins: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self.not_loaded: dict[str, PluginInfo] = {}  # entry points that failed to load

    def infos(self) -> list[PluginInfo]:
        """Every plugin known to this run, registered or not, sorted by name."""
        rows = list(self.not_loaded.values())
        for ep in entry_points(group=PROJECT_NAME):  # the ones never imported, from their metadata
            dist, version = _origin(ep)
            if self.is_blocked(ep.name) and ep.name not in self.not_loaded:
                rows.append(PluginInfo(ep.name, dist, version, "blocked"))
            elif self.has_plugin(ep.name) and self.origins.get(ep.name, ("agentwinter",))[0] != dist:
                rows.append(PluginInfo(ep.name, dist, version, "ignored", error="that name is already taken"))
        for name, plugin in self.list_name_plugin():
            if plugin is None or name is None:
                continue
            dist, version = self.origins.get(name, ("agentwinter", __version__))
            hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
            rows.append(PluginInfo(name, dist, version, "active", hooks))
        return sorted(rows, key=lambda info: info.name)


def disabled_plugin_names(environ: dict[str, str] | None = None) -> set[str]:
    raw = (environ if environ is not None else os.environ).get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def build_plugin_manager(disabled: set[str] | None = None, warn: Warn = _stderr_warning) -> PluginManager:
    """The manager for one run: entry points, then the defaults, minus the disabled names."""
    pm = PluginManager(warn)
    disabled = disabled if disabled is not None else disabled_plugin_names()
    for name in disabled | DEFAULT_PLUGINS.keys():  # before any import; the defaults' names are theirs
        pm.set_blocked(name)
    _load_entry_points(pm)
    for name, module in DEFAULT_PLUGINS.items():
        if name not in disabled:
            pm.unblock(name)
            pm.register(importlib.import_module(module), name=name)
    return pm


def _load_entry_points(pm: PluginManager) -> None:
    """pluggy's loader (it skips blocked names before importing them), each plugin then guarded."""
    try:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    except Exception:  # a plugin failed to import and pluggy stopped there: load the rest one by one
        for ep in entry_points(group=PROJECT_NAME):
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name) or ep.name in pm.not_loaded:
                continue
            try:
                pm.load_setuptools_entrypoints(PROJECT_NAME, name=ep.name)
            except Exception as exc:  # a broken plugin must not take agentwinter down
                pm.warn(f"plugin '{ep.name}' ({_origin(ep)[0]}) failed to load: {type(exc).__name__}: {exc}")
                pm.not_loaded[ep.name] = PluginInfo(ep.name, *_origin(ep), "failed", error=str(exc))
    for plugin, dist in pm.list_plugin_distinfo():
        name = pm.get_name(plugin)
        if name is None:
            continue
        # warn late-bound: build_app later routes warnings to the UI
        pm.unregister(plugin)
        pm.register(_guarded(name, plugin, lambda message: pm.warn(message)), name=name)
        pm.origins[name] = (dist.project_name, dist.version)


def _origin(ep: EntryPoint) -> tuple[str, str]:
    return (ep.dist.name, ep.dist.version) if ep.dist else ("?", "?")


def _guarded(name: str, plugin: Any, warn: Warn) -> Any:
    """A copy of a third-party plugin whose hook functions turn exceptions into one warning each.

    pluggy calls every implementation in one loop, so one raising impl would abort the whole hook
    call; the guarded function returns None instead, which for firstresult hooks lets the next
    plugin (in the end the default) answer. Real attributes, not ``__getattr__``: pluggy looks
    hooks up statically.
    """
    copy = types.SimpleNamespace()
    warned: set[str] = set()
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        marker = getattr(value, f"{PROJECT_NAME}_impl", None)
        if not callable(value) or not isinstance(marker, dict):
            continue
        is_wrapper = marker.get("wrapper") or marker.get("hookwrapper")
        setattr(copy, attr, value if is_wrapper else _guard(name, attr, value, warn, warned))
    return copy


def _guard(name: str, attr: str, function: Callable[..., Any], warn: Warn, warned: set[str]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps the hookimpl marker and, via __wrapped__, the signature
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except UsageError:
            raise  # meant for the person, not a plugin failure
        except Exception as exc:
            if attr not in warned:
                warned.add(attr)
                warn(f"plugin '{name}' failed in {attr}: {type(exc).__name__}: {exc}")
            return None

    return guarded
