"""Sessions follow the repository, not the path: a moved checkout, a second clone (another machine on the same
Redis) and a subdirectory, with real git repositories, a real redis-server and the fake Messages API."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import orjson
import pytest
from agentwinter_sessions import lifecycle, tracker, workspace
from agentwinter_sessions.redis_store import RedisStore

from agentwinter_core.query import run_query
from agentwinter_core.state import UsageError
from tests.helpers import fake_api as fake
from tests.helpers.app import cli_here as cli
from tests.helpers.app import err, make_app, project_env
from tests.helpers.gitrepo import commit, git, init


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    """A checkout of a repository whose origin is a bare repository beside it; the identity it gives."""
    project = init(project_env(fake_api, redis_server, tmp_path, monkeypatch))
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    commit(project, "start", **{"app.py": "A = 1\n"})
    git(project, "push", "-q", "origin", "main")
    return project, str((tmp_path / "origin").resolve())


def clone(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(target))
    git(target, "config", "user.name", "Test")
    git(target, "config", "user.email", "test@example.com")
    return target


def document(redis_server, session_id: str) -> dict:
    return json.loads(redis_server.client(1).get(f"agentwinter:session:{session_id}"))


@pytest.mark.slow
def test_a_moved_checkout_and_a_second_clone_continue_the_session(env, fake_api, redis_server, tmp_path):
    project, identity = env
    fake_api.add(fake.tool_use("read_file", {"path": "app.py"}), fake.text("A is 1"))
    app, agent = make_app(project)
    run_query(app, agent, "what is A?")
    session_id = tracker(app).state.id
    app.pm.hook.shutdown(app=app)
    assert document(redis_server, session_id)["repository"] == identity

    moved = project.rename(tmp_path / "moved")
    again, _ = make_app(moved, cont=True)
    assert tracker(again).state.id == session_id
    assert "started in" not in err(again) and "changed" not in err(again)  # same repository, same commit

    other = clone(tmp_path, "elsewhere")  # another machine sharing the Redis sees the same remote
    listed = json.loads(cli("sessions", "list", "--json", cwd=other).stdout)
    assert [(r["id"], r["repository"], r["cwd"]) for r in listed] == [(session_id, identity, str(project))]
    before = git(other, "rev-parse", "HEAD")
    after = commit(other, "change", **{"app.py": "A = 2\n"})
    third, agent = make_app(other, cont=True)
    assert tracker(third).state.id == session_id
    assert f"1 file changed since this session (HEAD {before[:7]} → {after[:7]})" in err(third)
    fake_api.add(fake.text("A is 2"))
    run_query(third, agent, "and now?")
    sent = fake_api.message_requests()[-1]["messages"]
    assert "app.py" in sent[-1]["content"][0]["text"] and fake_api.violations == []


@pytest.mark.slow
def test_a_subdirectory_is_its_own_place_and_older_sessions_are_still_found(env, fake_api, redis_server, tmp_path):
    project, identity = env
    (project / "web").mkdir()
    app, agent = make_app(project / "web")
    run_query(app, agent, "about the web part")
    web_id = tracker(app).state.id
    assert document(redis_server, web_id)["repository"] == f"{identity}:web"
    with pytest.raises(UsageError, match="no session to continue"):
        make_app(project, cont=True)
    other = clone(tmp_path, "second")
    (other / "web").mkdir()
    continued, _ = make_app(other / "web", cont=True)
    assert tracker(continued).state.id == web_id

    # a session saved before identities were recorded: indexed by its directory alone
    old = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "an old question"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "an old answer"}]},
        ],
        "format": 1,
        "id": "session-20250101-000000-0ld0ld00",
        "cwd": str(project),
        "created": 1.0,
        "updated": 2.0,
        "version": 1,
    }
    store = RedisStore(tracker(app).settings.target, 600)
    lifecycle.put(store, old, orjson.dumps(old))
    resumed, _ = make_app(project, cont=True)
    assert tracker(resumed).state.id == old["id"]
    listed = json.loads(cli("sessions", "list", "--json", cwd=project).stdout)
    assert [(r["id"], r["repository"]) for r in listed] == [(old["id"], "")]
    assert json.loads(cli("sessions", "list", "--json", cwd=other).stdout) == []  # it never knew its repository


def test_the_identity_is_computed_once_in_the_background_and_keeps_no_secret(env, fake_api, redis_server, monkeypatch):
    project, _ = env
    git(project, "remote", "set-url", "origin", "https://agent:s3cret@GitHub.com/Owner/App.git/")
    threads = []
    real = workspace.identity

    def recording(directory: Path) -> str:
        threads.append(threading.current_thread().name)
        return real(directory)

    monkeypatch.setattr(workspace, "identity", recording)
    app, agent = make_app(project)
    run_query(app, agent, "one")
    run_query(app, agent, "two")
    assert len(threads) == 1 and threads != ["MainThread"]  # by the snapshot thread, not before the request
    stored = redis_server.client(1).get(f"agentwinter:session:{tracker(app).state.id}")
    assert json.loads(stored)["repository"] == "github.com/Owner/App" and b"s3cret" not in stored


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("git@github.com:Owner/App.git", "github.com/Owner/App"),
        ("ssh://git@GITHUB.com:2222/Owner/App", "github.com/Owner/App"),
        ("https://user:token@github.com/Owner/App.git/", "github.com/Owner/App"),
        ("file:///srv/git/app.git", "/srv/git/app"),
        ("../shared/app.git", "/work/shared/app"),
        ("https://github.com/", ""),
    ],
)
def test_remote_urls_of_one_repository_have_one_name(url, name):
    assert workspace.remote_name(url, Path("/work/checkout")) == name


def test_outside_git_the_identity_is_the_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert workspace.identity(tmp_path) == str(tmp_path.resolve())
