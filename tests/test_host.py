"""The plugin host: entry-point discovery, blocking before import, broken plugins only warn."""

from __future__ import annotations

import sys

import pytest

from agentwinter_core.host import build_plugin_manager, disabled_plugin_names
from tests.helpers.plugin_dists import write_dist

MARKER_SOURCE = """
from pathlib import Path
from agentwinter_core import hookimpl
Path({marker!r}).write_text("imported")

@hookimpl
def on_command(name):
    return "pong" if name == "ping" else None
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    yield path
    for module in [m for m in sys.modules if m.startswith("aw_test_")]:
        del sys.modules[module]


def warnings_into(messages: list[str]):
    return messages.append


def test_entry_point_plugin_is_loaded_with_its_distribution(site, tmp_path):
    marker = tmp_path / "marker"
    write_dist(site, "aw-test-ping", "ping", "aw_test_ping", MARKER_SOURCE.format(marker=str(marker)))
    pm = build_plugin_manager(disabled=set())
    assert marker.exists()
    assert pm.hook.on_command(app=None, name="ping", args="") == "pong"
    info = {i.name: i for i in pm.infos()}["ping"]
    assert (info.distribution, info.version, info.status) == ("aw-test-ping", "1.2.3", "active")
    assert info.hooks == ["on_command"]


def test_blocked_plugin_is_never_imported(site, tmp_path):
    marker = tmp_path / "marker"
    write_dist(site, "aw-test-ping", "ping", "aw_test_ping", MARKER_SOURCE.format(marker=str(marker)))
    pm = build_plugin_manager(disabled={"ping"})
    assert not marker.exists()
    assert pm.hook.on_command(app=None, name="ping", args="") is None
    assert {i.name: i.status for i in pm.infos()}["ping"] == "blocked"


def test_disable_env_parsing():
    assert disabled_plugin_names({"AGENTWINTER_DISABLE_PLUGINS": " sessions, cleanup ,,"}) == {"sessions", "cleanup"}
    assert disabled_plugin_names({}) == set()


def test_plugin_failing_to_import_warns_once_and_the_rest_works(site):
    write_dist(site, "aw-test-broken", "broken", "aw_test_broken", "raise RuntimeError('boom at import')\n")
    warnings: list[str] = []
    pm = build_plugin_manager(disabled=set(), warn=warnings.append)
    assert len(warnings) == 1
    assert "broken" in warnings[0] and "boom at import" in warnings[0]
    assert {i.name: i.status for i in pm.infos()}["broken"] == "failed"
    assert pm.hook.dump_json(value={"b": 1, "a": 2}) == b'{"a":2,"b":1}'  # defaults still answer


def test_plugin_raising_in_a_hook_warns_and_the_default_answers(site):
    source = """
    from agentwinter_core import hookimpl

    @hookimpl
    def dump_json(value):
        raise ValueError("cannot encode")

    @hookimpl
    def register_commands():
        raise KeyError("oops")
    """
    write_dist(site, "aw-test-raises", "raises", "aw_test_raises", source)
    warnings: list[str] = []
    # the other installed plugins would answer dump_json before the raising one is reached
    pm = build_plugin_manager(disabled={"serialization", "sessions", "cleanup"}, warn=warnings.append)
    for _ in range(3):
        assert pm.hook.dump_json(value=[1]) == b"[1]"
    names = [c.name for found in pm.hook.register_commands() for c in found or []]
    assert "help" in names
    assert len(warnings) == 2  # one line per failing hook, not per call
    assert "plugin 'raises' failed in dump_json: ValueError: cannot encode" in warnings


def test_a_plugin_named_like_a_default_is_never_imported_and_listed_as_ignored(site, tmp_path):
    marker = tmp_path / "marker"
    write_dist(site, "aw-test-edits", "edits", "aw_test_edits", MARKER_SOURCE.format(marker=str(marker)))
    pm = build_plugin_manager(disabled=set())
    assert not marker.exists()
    assert pm.hook.on_command(app=None, name="ping", args="") is None
    rows = [(i.name, i.distribution, i.status) for i in pm.infos() if i.name == "edits"]
    assert sorted(rows) == [("edits", "agentwinter", "active"), ("edits", "aw-test-edits", "ignored")]
