"""The contract: every hook is documented, exercised by a test, and works from a registered plugin object."""

from __future__ import annotations

import io
import re
from pathlib import Path

import typer

from agentwinter_core import hookimpl, hookspecs
from agentwinter_core.app import build_agent, build_app
from agentwinter_core.cli import build_cli
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command, run_query
from agentwinter_core.state import CliOption, Command, UsageError
from agentwinter_core.tools import Tool
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake

ROOT = Path(__file__).resolve().parents[1]


def test_every_hook_has_a_docstring_saying_what_it_receives_and_returns():
    names = hookspecs.all_hook_names()
    assert len(names) >= 10
    for name in names:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.split()) >= 15, f"{name} is not documented"
        assert "Return" in doc or "return" in doc, f"{name}'s docstring does not say what it returns"


def test_every_hook_is_implemented_somewhere_in_the_tests():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    for name in hookspecs.all_hook_names():
        assert re.search(rf"def {name}\(", sources), f"no test implements the hook {name}"


def documented_hooks() -> dict[str, list[str]]:
    """The rows of the hook table in docs/plugins.md: hook name -> its cells after the first."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    table = text.split("\n| hook | first result | historic | trylast defaults | what for |\n", 1)[1].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[1:]:
        match = re.fullmatch(r"\| `(\w+)\((.*?)\)` \|(.*)\|", line)
        assert match, f"not a hook row: {line}"
        rows[match[1]] = [match[2], *(cell.strip() for cell in match[3].split("|"))]
    return rows


def test_the_docs_hook_table_says_what_the_code_does():
    """Every hook has a row whose arguments, first-result, historic and trylast-defaults cells match the code:
    the spec's own options (pluggy's ``spec.opts``) and the implementations this repository registers."""
    pm = build_plugin_manager(disabled=set())
    rows = documented_hooks()
    assert sorted(rows) == sorted(hookspecs.all_hook_names())
    for name, (args, firstresult, historic, defaults, purpose) in rows.items():
        caller = getattr(pm.hook, name)
        assert args == ", ".join(caller.spec.argnames), name
        assert firstresult == ("yes" if caller.spec.opts["firstresult"] else "no"), name
        assert historic == ("yes" if caller.spec.opts["historic"] else "no"), name
        trylast = sorted(impl.plugin_name for impl in caller.get_hookimpls() if impl.trylast)
        assert defaults == (", ".join(trylast) or "—"), name
        assert purpose, name


def test_the_recording_plugin_below_implements_every_hook():
    assert sorted(set(dir(Everything)) & set(hookspecs.all_hook_names())) == sorted(hookspecs.all_hook_names())


class Everything:
    """One plugin object implementing every hook, recording each call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def register_tools(self, app):
        self.calls.append("register_tools")
        return [Tool("echo", "echo the input", {"type": "object"}, lambda data, ctx: f"echo {data}")]

    @hookimpl
    def register_cli_commands(self, cli):
        self.calls.append("register_cli_commands")

        @cli.command("everything")
        def everything() -> None:
            typer.echo("everything")

    @hookimpl
    def register_cli_options(self):
        self.calls.append("register_cli_options")
        return [
            CliOption("flavour", ("--flavour",), "a value option", metavar="NAME"),
            CliOption("loud", ("--loud",), "a switch", switch=True),
            CliOption("model", ("--model2",), "a name the core already uses: skipped"),
        ]

    @hookimpl
    def register_commands(self):
        self.calls.append("register_commands")
        return [Command("every", "the test command")]

    @hookimpl
    def startup(self, app):
        self.calls.append(f"startup:{app.options}")
        if app.options.get("flavour") == "bad":
            raise UsageError("no such flavour: bad")

    @hookimpl
    def shutdown(self, app):
        self.calls.append("shutdown")

    @hookimpl
    def before_query(self, app, query):
        self.calls.append(f"before_query:{query}")
        app.conversation.metadata["seen"] = query

    @hookimpl
    def after_response(self, app, result):
        self.calls.append(f"after_response:{result.query}:{len(app.conversation.messages)}")

    @hookimpl
    def on_command(self, name, args):
        self.calls.append(f"on_command:{name}")
        return f"every {args}" if name == "every" else None

    @hookimpl
    def cleanup_messages(self, messages):
        self.calls.append("cleanup_messages")
        return messages

    @hookimpl
    def serialize_content(self, content):
        self.calls.append("serialize_content")
        return [b if isinstance(b, dict) else {**b.to_dict(mode="json"), "type": b.type} for b in content]

    @hookimpl
    def dump_json(self, value):
        self.calls.append("dump_json")
        return b"custom"


def test_a_registered_plugin_object_sees_every_hook(fake_api, monkeypatch, tmp_path):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
    plugin = Everything()
    pm.register(plugin, name="everything")
    try:
        cli = build_cli(pm)
        assert any(c.name == "everything" for c in cli.registered_commands)
        app = build_app(pm, interactive=False, project_dir=tmp_path)
        app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
        agent = build_agent(app)
        assert "echo" in agent.tools and "read_file" in agent.tools
        pm.hook.startup(app=app)
        fake_api.add(fake.tool_use("echo", {"x": 1}), fake.text("done"))
        run_query(app, agent, "q1")
        run_command(app, "!every thing")
        run_command(app, "!help")
        assert pm.hook.dump_json(value={}) == b"custom"
        pm.hook.shutdown(app=app)
        out = app.ui.out.file.getvalue()
        assert "every thing" in out and "!every" in out
        assert app.conversation.metadata["seen"] == "q1"
        assert fake_api.message_requests()[1]["messages"][-1]["content"][0]["content"] == "echo {'x': 1}"
        for expected in [
            "register_tools",
            "register_cli_commands",
            "register_cli_options",
            "startup:{}",
            "before_query:q1",
            "serialize_content",
            "cleanup_messages",
            "after_response:q1:4",
            "on_command:every",
            "register_commands",
            "dump_json",
            "shutdown",
        ]:
            assert expected in plugin.calls, expected
        assert plugin.calls.index("before_query:q1") < plugin.calls.index("serialize_content")
        assert plugin.calls.index("cleanup_messages") < plugin.calls.index("after_response:q1:4")
    finally:
        pm.unregister(plugin)
    assert pm.hook.dump_json(value={}) == b"{}"  # the default is back


def test_plugin_options_reach_the_app_and_a_usage_error_stops_the_run(fake_api, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(tmp_path / "none.toml"))
    pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
    warnings: list[str] = []
    pm.warn = warnings.append
    plugin = Everything()
    pm.register(plugin, name="everything")
    try:
        cli = build_cli(pm)
        runner = CliRunner()
        assert "--flavour" in runner.invoke(cli, ["--help"]).output
        assert warnings == ["command-line option --model2 ignored: already taken"]
        done = runner.invoke(cli, ["--flavour", "mint", "--loud", "-C", str(tmp_path), "-p", "hi"])
        assert done.exit_code == 0, done.output
        assert "startup:{'flavour': 'mint', 'loud': True}" in plugin.calls
        refused = runner.invoke(cli, ["--flavour", "bad", "-C", str(tmp_path), "-p", "hi"])
        assert refused.exit_code == 2 and "error: no such flavour: bad" in refused.output
        assert len(fake_api.message_requests()) == 1  # the refused run asked nothing
    finally:
        pm.unregister(plugin)
