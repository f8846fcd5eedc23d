"""Escape attempts through every read-only tool, with the project inside a larger git repository: all are
refused or confined, and the planted secret reaches no request sent to the API."""

from __future__ import annotations

import io
import json

import pytest

from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_query
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers import gitrepo

SECRET = "PLANTED-SECRET-5b1e9c"
ENV_SECRET = "PLANTED-ENV-SECRET-77aa"


@pytest.fixture
def outer(tmp_path, monkeypatch):
    """outer/ is a git repository holding secret.txt; outer/project/ is the project agentwinter explores."""
    gitrepo.isolate(tmp_path, monkeypatch)
    repo = gitrepo.init(tmp_path / "outer")
    gitrepo.commit(repo, "start", **{"secret.txt": SECRET + "\n", "project/app.py": "print('hi')\n"})
    gitrepo.commit(repo, "tweak", **{"secret.txt": SECRET + " v2\n"})
    gitrepo.commit(repo, "work", **{"project/app.py": "print('hello')\n", "secret.txt": SECRET + " v3\n"})
    (repo / "project" / "app.py").write_text("print('hello, world')\n")  # an uncommitted change
    (repo / "secret.txt").write_text(SECRET + " v4\n")
    (repo / "project" / "link_out").symlink_to(repo / "secret.txt")
    (repo / "project" / "link_dir").symlink_to(repo)
    (repo / "project" / "sub").mkdir()
    monkeypatch.setenv("MY_SERVICE_TOKEN", ENV_SECRET)
    return repo


def attempts(repo) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
    """(escapes that must be refused, legitimate calls that must stay inside the project)."""
    outer_tree = gitrepo.git(repo, "rev-parse", "HEAD^{tree}")
    secret_blob = gitrepo.git(repo, "rev-parse", "HEAD:secret.txt")
    escapes = [
        ("read_file", {"path": "../secret.txt"}),
        ("read_file", {"path": str(repo / "secret.txt")}),
        ("read_file", {"path": "/proc/self/environ"}),
        ("read_file", {"path": "/etc/passwd"}),
        ("read_file", {"path": "../../../../../../etc/passwd"}),
        ("read_file", {"path": "link_out"}),
        ("read_file", {"path": "link_dir/secret.txt"}),
        ("read_file", {"path": "link_dir"}),
        ("read_file", {"path": "sub/../../secret.txt"}),
        ("read_file", {"path": "./../secret.txt"}),
        ("read_file", {"path": "app.py\0../secret.txt"}),
        ("list_files", {"path": ".."}),
        ("list_files", {"path": str(repo)}),
        ("list_files", {"path": "/"}),
        ("list_files", {"path": "link_dir"}),
        ("search", {"pattern": "PLANTED", "path": ".."}),
        ("search", {"pattern": "PLANTED", "path": str(repo)}),
        ("search", {"pattern": "PLANTED", "path": "link_dir"}),
        ("git", {"command": "show", "ref": "HEAD:../secret.txt"}),
        ("git", {"command": "show", "ref": "HEAD~1:sub/../../secret.txt"}),
        ("git", {"command": "show", "ref": "HEAD:/secret.txt"}),
        ("git", {"command": "show", "ref": "HEAD:link_out"}),
        ("git", {"command": "show", "ref": "HEAD:link_dir/secret.txt"}),
        ("git", {"command": "show", "ref": ":secret.txt"}),
        ("git", {"command": "show", "ref": "HEAD:"}),
        ("git", {"command": "show", "ref": "HEAD^{tree}"}),
        ("git", {"command": "show", "ref": outer_tree}),
        ("git", {"command": "show", "ref": secret_blob}),
        ("git", {"command": "show", "ref": "HEAD --stat"}),
        ("git", {"command": "show", "ref": "-p"}),
        ("git", {"command": "log", "ref": "HEAD:../secret.txt"}),
        ("git", {"command": "log", "ref": "--output=../leak.txt"}),
        ("git", {"command": "log", "path": "../secret.txt"}),
        ("git", {"command": "diff", "ref": "HEAD^{tree}"}),
        ("git", {"command": "diff", "ref": f"{outer_tree}..HEAD"}),
        ("git", {"command": "blame", "path": "../secret.txt"}),
        ("git", {"command": "blame", "path": "link_out"}),
        ("git", {"command": "blame", "path": str(repo / "secret.txt")}),
        ("git", {"command": "grep", "ref": "PLANTED"}),
    ]
    confined = [
        ("search", {"pattern": "PLANTED"}),
        ("git", {"command": "show", "ref": "HEAD"}),
        ("git", {"command": "show", "ref": "HEAD~1"}),  # the commit that changed only secret.txt
        ("git", {"command": "show", "ref": "HEAD:app.py"}),
        ("git", {"command": "log", "limit": 50}),
        ("git", {"command": "log", "ref": "HEAD~2..HEAD"}),
        ("git", {"command": "diff"}),
        ("git", {"command": "diff", "ref": "HEAD~2"}),
        ("git", {"command": "diff", "ref": "HEAD~2...HEAD"}),
        ("git", {"command": "diff", "path": ":(top)secret.txt"}),  # a literal name here, no such file
        ("git", {"command": "diff", "path": ":/secret.txt"}),
        ("git", {"command": "status"}),
    ]
    return escapes, confined


def test_no_attempt_reaches_outside_the_project(fake_api, outer, monkeypatch):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(outer.parent / "none.toml"))
    pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
    app = build_app(pm, interactive=False, project_dir=outer / "project")
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    agent = build_agent(app)
    escapes, confined = attempts(outer)
    assert len(escapes) >= 30
    fake_api.add(fake.tool_uses(escapes + confined), fake.text("nothing found"))
    assert run_query(app, agent, "find the secret").error is None
    sent = json.dumps(fake_api.message_requests())
    assert SECRET not in sent and ENV_SECRET not in sent
    results = fake_api.message_requests()[1]["messages"][-1]["content"]
    assert len(results) == len(escapes) + len(confined)
    leaked = [call for call, result in zip(escapes, results, strict=False) if not result.get("is_error")]
    assert leaked == []
    views = {json.dumps(call): r for call, r in zip(confined, results[len(escapes) :], strict=True)}
    failed = [call for call, r in views.items() if r.get("is_error")]
    assert failed == []
    # the legitimate views stay useful, and stay inside the project
    log = views[json.dumps(("git", {"command": "log", "limit": 50}))]["content"]
    assert "work" in log and "tweak" not in log  # "tweak" changed only secret.txt
    diff = views[json.dumps(("git", {"command": "diff"}))]["content"]
    assert "hello, world" in diff and "secret.txt" not in diff
    assert "print('hello')" in views[json.dumps(("git", {"command": "show", "ref": "HEAD:app.py"}))]["content"]
    assert "secret.txt" not in views[json.dumps(("git", {"command": "show", "ref": "HEAD~1"}))]["content"]
    status = views[json.dumps(("git", {"command": "status"}))]["content"]
    assert "app.py" in status and "secret.txt" not in status
    assert not (outer / "leak.txt").exists() and not (outer / "project" / "leak.txt").exists()
    assert fake_api.violations == []
