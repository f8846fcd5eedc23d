"""The public plugin API: every plugin in this repository imports agentwinter only through ``agentwinter_core.api``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agentwinter_core import api

ROOT = Path(__file__).resolve().parents[1]


def core_imports(source: str) -> list[str]:
    """The ``agentwinter_core`` modules a Python source imports, other than the API."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return [name for name in found if name.split(".")[0] == "agentwinter_core" and name != "agentwinter_core.api"]


def plugin_sources() -> list[Path]:
    """The code of every plugin distribution here (their tests may look inside the core)."""
    paths = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    return sorted(p for p in paths if "tests" not in p.relative_to(ROOT).parts)


def test_the_check_sees_every_kind_of_core_import():
    source = "import agentwinter_core.history\nfrom agentwinter_core import hookimpl\n"
    source += "from agentwinter_core.state import App\n"
    assert core_imports(source) == ["agentwinter_core.history", "agentwinter_core", "agentwinter_core.state"]
    assert core_imports("from agentwinter_core.api import App\nimport agentwinter_sessions.store\n") == []


def test_plugins_import_only_the_public_api():
    sources = plugin_sources()
    assert len(sources) > 20  # sessions, cleanup, serialization and the example
    offenders = {str(p.relative_to(ROOT)): core_imports(p.read_text()) for p in sources}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_every_public_name_exists():
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert sorted(api.__all__) == api.__all__


def test_every_public_name_is_documented_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    api_section = guide.split("## 3. What a plugin may import", 1)[1].split("\n## ", 1)[0]
    for name in api.__all__:
        assert re.search(rf"`{name}[`(]", api_section), f"{name} is not in docs/plugins.md"


def test_plugin_state_is_made_once_per_run(tmp_path):
    from agentwinter_core.config import Config
    from agentwinter_core.ui import UI

    app = api.App(Config(), UI(interactive=False), None, tmp_path, "m", "")  # type: ignore[arg-type]
    made: list[int] = []
    first = api.plugin_state(app, "demo", lambda: made.append(1) or len(made))
    assert api.plugin_state(app, "demo", lambda: made.append(1) or len(made)) == first == 1
    assert made == [1] and app.plugin_state == {"demo": 1}


def test_print_table_is_plain_text_when_piped(capsys):
    long = "why " * 60
    api.print_table([["a1", "", "[bold]x[/bold] :smile:"], ["b", "named", long]], ["id", "name", "first_query"])
    assert capsys.readouterr().out.splitlines() == [
        "id  name   first_query",
        "a1         [bold]x[/bold] :smile:",  # a cell is text, not markup; no trailing blanks
        f"b   named  {long.rstrip()}",  # never wrapped, whatever the width
    ]
    api.print_table([["one", "x"], ["three", "-"]])  # no header
    assert capsys.readouterr().out == "one    x\nthree  -\n"
