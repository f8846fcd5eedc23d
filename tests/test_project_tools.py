"""The builtin tools: useful output, caps with notices, and never a byte from outside the project."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from agentwinter_core import project_tools as pt
from agentwinter_core.default_plugins.builtin_tools import register_tools
from agentwinter_core.tools import ToolContext, ToolError


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 'hello'\n\nSECRET_FEATURE = 1\n")
    (root / "src" / "util.py").write_text("def helper():\n    pass\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("SECRET_FEATURE = 2\n")
    (root / "debug.log").write_text("noise\n")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "logo.png").write_bytes(b"\x89PNG\0\0data")
    (tmp_path / "outside.txt").write_text("private\n")
    return root


@pytest.fixture
def ctx(project):
    return ToolContext(project_dir=project)


def git(root, *args):
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=T", *args], cwd=root, check=True, capture_output=True
    )


def test_list_files_respects_gitignore_and_patterns(ctx):
    listed = pt.list_files({}, ctx).splitlines()
    assert listed == [".gitignore", "logo.png", "src/app.py", "src/util.py"]
    assert pt.list_files({"path": "src", "pattern": "u*.py"}, ctx) == "src/util.py"


def test_list_files_cap_has_a_notice(ctx, project, monkeypatch):
    monkeypatch.setattr(pt, "MAX_LIST", 2)
    lines = pt.list_files({}, ctx).splitlines()
    assert len(lines) == 3 and lines[-1].startswith("… 2 more files not shown")


def test_read_file_with_numbers_ranges_and_cap(ctx, monkeypatch):
    assert pt.read_file({"path": "src/app.py"}, ctx).splitlines()[0] == "     1\tdef main():"
    ranged = pt.read_file({"path": "src/app.py", "start_line": 2, "end_line": 2}, ctx)
    assert ranged == "     2\t    return 'hello'"
    monkeypatch.setattr(pt, "MAX_READ_LINES", 2)
    capped = pt.read_file({"path": "src/app.py"}, ctx).splitlines()
    assert capped[-1] == "… stopped at line 2 of 4; read on with start_line=3"


@pytest.mark.parametrize(
    ("path", "message"),
    [("logo.png", "binary file"), ("src", "is a directory"), ("missing.py", "does not exist")],
)
def test_read_file_refusals(ctx, path, message):
    with pytest.raises(ToolError, match=message):
        pt.read_file({"path": path}, ctx)


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", "/etc/passwd"])
def test_paths_outside_the_project_are_refused(ctx, path):
    for tool in (pt.read_file, pt.list_files):
        with pytest.raises(ToolError, match="outside the project"):
            tool({"path": path}, ctx)


def test_symlinks_leading_outside_are_refused_inside_ones_allowed(ctx, project, tmp_path):
    (project / "leak.txt").symlink_to(tmp_path / "outside.txt")
    (project / "leakdir").symlink_to(tmp_path)
    (project / "alias.py").symlink_to(project / "src" / "app.py")
    with pytest.raises(ToolError, match="outside"):
        pt.read_file({"path": "leak.txt"}, ctx)
    with pytest.raises(ToolError, match="outside"):
        pt.read_file({"path": "leakdir/outside.txt"}, ctx)
    assert "def main" in pt.read_file({"path": "alias.py"}, ctx)
    assert "leak.txt" not in pt.list_files({}, ctx)
    assert "private" not in pt.search({"pattern": "private"}, ctx)


def test_search_finds_matches_skips_ignored_and_binary(ctx, monkeypatch):
    assert pt.search({"pattern": "SECRET_FEATURE"}, ctx) == "src/app.py:4: SECRET_FEATURE = 1"
    assert pt.search({"pattern": "DEF", "ignore_case": True, "glob": "util*"}, ctx) == "src/util.py:1: def helper():"
    assert pt.search({"pattern": "nothing-like-this"}, ctx) == "(no matches)"
    with pytest.raises(ToolError, match="invalid pattern"):
        pt.search({"pattern": "("}, ctx)
    monkeypatch.setattr(pt, "MAX_MATCHES", 1)
    assert "more matches not shown" in pt.search({"pattern": "def"}, ctx)


def test_git_information_in_a_repository(ctx, project):
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "first commit")
    (project / "src" / "app.py").write_text("def main():\n    return 'changed'\n")
    assert "first commit" in pt.git({"command": "log"}, ctx)
    assert "changed" in pt.git({"command": "diff", "path": "src/app.py"}, ctx)
    assert "src/app.py" in pt.git({"command": "status"}, ctx)
    assert "first commit" not in pt.git({"command": "blame", "path": "src/util.py"}, ctx)
    assert "def helper" in pt.git({"command": "blame", "path": "src/util.py"}, ctx)
    with pytest.raises(ToolError, match="may not start with '-'"):
        pt.git({"command": "log", "ref": "--output=/tmp/x"}, ctx)
    with pytest.raises(ToolError, match="outside"):
        pt.git({"command": "diff", "path": "../outside.txt"}, ctx)
    with pytest.raises(ToolError, match="must be one of"):
        pt.git({"command": "push"}, ctx)


def test_git_outside_a_repository_is_a_tool_error(ctx):
    with pytest.raises(ToolError, match=r"(?i)not a git repository"):
        pt.git({"command": "log"}, ctx)


def test_shell_asks_and_respects_the_answer(project):
    asked = []
    declined = ToolContext(project, confirm=lambda q: asked.append(q) or False, interactive=True)
    with pytest.raises(ToolError, match="declined"):
        pt.shell({"command": "echo hi"}, declined)
    assert asked == ["Run shell command: echo hi?"]
    accepted = ToolContext(project, confirm=lambda q: True, interactive=True)
    assert pt.shell({"command": "echo hi"}, accepted) == "hi\n\n(exit code 0)"
    with pytest.raises(ToolError, match="--allow-shell"):
        pt.shell({"command": "echo hi"}, ToolContext(project))
    allowed = ToolContext(project, confirm=lambda q: pytest.fail("asked"), allow_shell=True)
    assert "(exit code 3)" in pt.shell({"command": "exit 3"}, allowed)


@pytest.mark.parametrize(
    ("interactive", "allow", "has_shell"), [(False, False, False), (True, False, True), (False, True, True)]
)
def test_shell_is_offered_only_with_a_terminal_or_allow_shell(project, interactive, allow, has_shell):
    config = SimpleNamespace(allow_shell=allow, edits="off")  # the edit tools are covered by test_edit_tools
    app = SimpleNamespace(project_dir=project, interactive=interactive, config=config, plugin_state={})
    names = [tool.name for tool in register_tools(app)]
    assert names[:4] == ["list_files", "read_file", "search", "git"]
    assert ("shell" in names) is has_shell
