"""write_file and edit_file driven by the model through the real agent loop (fake Messages API), in a git repo."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentwinter_core.app import build_agent, build_app
from agentwinter_core.config import load_config
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_command, run_query
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers import gitrepo

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


@pytest.fixture
def project(tmp_path, monkeypatch):
    gitrepo.isolate(tmp_path, monkeypatch)
    root = gitrepo.init(tmp_path / "project")
    gitrepo.commit(root, "start", **{"app.py": "FEATURES = ['search']\n\n\ndef main():\n    return FEATURES\n"})
    return root


@pytest.fixture
def make_app(fake_api, project, monkeypatch):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(project.parent / "none.toml"))

    def make(edits: str | None = "auto", interactive: bool = False):
        pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
        app = build_app(pm, interactive=interactive, project_dir=project, edits=edits)
        app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
        return app, build_agent(app)

    return make


def results(request: dict) -> list[dict]:
    """The tool_result blocks of the last message of a request."""
    return [b for b in request["messages"][-1]["content"] if b.get("type") == "tool_result"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_edit_and_write_are_applied_atomically_and_recorded(fake_api, make_app, project):
    fake_api.add(
        fake.tool_use("read_file", {"path": "app.py"}),
        fake.tool_use("edit_file", {"path": "app.py", "old_string": "['search']", "new_string": "['search', 'sync']"}),
        fake.tool_use("write_file", {"path": "lib/sync.py", "content": "def sync():\n    pass\n"}),
        fake.text("Added sync."),
    )
    app, agent = make_app()
    assert run_query(app, agent, "add a sync feature").error is None
    assert (project / "app.py").read_text() == "FEATURES = ['search', 'sync']\n\n\ndef main():\n    return FEATURES\n"
    assert (project / "lib/sync.py").read_text() == "def sync():\n    pass\n"
    requests = fake_api.message_requests()
    assert [r["content"] for r in results(requests[2])] == ["updated app.py (+1 −1 lines)"]
    assert [r["content"] for r in results(requests[3])] == ["created lib/sync.py (+2 −0 lines)"]
    assert {"write_file", "edit_file"} <= {t["name"] for t in requests[0]["tools"]}
    err = app.ui.err.file.getvalue()
    assert "⚙ edit_file app.py +1 −1" in err and "⚙ write_file lib/sync.py +2 −0" in err
    # which files the query changed, with their digests after the change: what sessions read
    [entry] = app.conversation.metadata["edits"]
    assert entry["query"] == 0
    assert entry["files"] == {
        "app.py": sha((project / "app.py").read_bytes()),
        "lib/sync.py": sha((project / "lib/sync.py").read_bytes()),
    }
    assert not [p for p in project.rglob("*.tmp")]  # the temporary files were renamed, none left over
    assert gitrepo.git(project, "status", "--short") == "M app.py\n?? lib/"
    assert fake_api.violations == []


def test_a_file_changed_since_it_was_read_is_refused_until_read_again(fake_api, make_app, project):
    def edited_outside(body):
        (project / "app.py").write_text("FEATURES = ['search', 'export']\n")  # someone saves the file meanwhile
        return fake.tool_use("edit_file", {"path": "app.py", "old_string": "FEATURES", "new_string": "NAMES"})

    fake_api.add(
        fake.tool_use("read_file", {"path": "app.py"}),
        edited_outside,
        fake.tool_use("read_file", {"path": "app.py"}),
        fake.tool_use("edit_file", {"path": "app.py", "old_string": "FEATURES", "new_string": "NAMES"}),
        fake.tool_use("write_file", {"path": "README.md", "content": "x"}),
        fake.text("ok"),
    )
    (project / "README.md").write_text("# the readme\n")
    app, agent = make_app()
    assert run_query(app, agent, "rename FEATURES").error is None
    requests = fake_api.message_requests()
    [stale] = results(requests[2])
    assert stale["is_error"] is True and "changed on disk since you last read it" in stale["content"]
    assert (project / "app.py").read_text() == "NAMES = ['search', 'export']\n"  # the outside change survived
    [unread] = results(requests[5])
    assert unread["is_error"] is True and "read README.md with read_file before changing it" in unread["content"]
    assert (project / "README.md").read_text() == "# the readme\n"
    assert fake_api.violations == []


def test_missing_or_ambiguous_snippets_are_clear_errors(fake_api, make_app, project):
    (project / "twice.py").write_text("a = 1\na = 1\n")
    fake_api.add(
        fake.tool_uses([("read_file", {"path": "app.py"}), ("read_file", {"path": "twice.py"})]),
        fake.tool_uses(
            [
                ("edit_file", {"path": "app.py", "old_string": "NOT THERE", "new_string": "x"}),
                ("edit_file", {"path": "twice.py", "old_string": "a = 1", "new_string": "a = 2"}),
                ("edit_file", {"path": "twice.py", "old_string": "", "new_string": "a = 2"}),
                ("edit_file", {"path": "nope.py", "old_string": "a", "new_string": "b"}),
                ("write_file", {"path": "x.py"}),
            ]
        ),
        fake.text("ok"),
    )
    app, agent = make_app()
    run_query(app, agent, "edit")
    found = results(fake_api.message_requests()[2])
    assert all(r["is_error"] for r in found)
    assert "old_string was not found in app.py" in found[0]["content"]
    assert "old_string appears 2 times in twice.py" in found[1]["content"]
    assert "old_string is empty" in found[2]["content"]
    assert "nope.py does not exist: create it with write_file" in found[3]["content"]
    assert "content must be a string" in found[4]["content"]
    assert (project / "twice.py").read_text() == "a = 1\na = 1\n"
    assert fake_api.violations == []


def test_confinement_attempts_are_refused(fake_api, make_app, project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (project / "out").symlink_to(outside)  # a directory link leading out
    (project / "secret_link.txt").symlink_to(outside / "secret.txt")  # a file link leading out
    (project / "null").symlink_to(os.devnull)  # a device, through a link
    (project / "dangling.txt").symlink_to(outside / "not_yet.txt")  # would create a file outside
    os.mkfifo(project / "pipe")
    (project / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    (project / "src").mkdir()
    attempts = [
        ("write_file", {"path": "../outside/new.txt", "content": "x"}),
        ("write_file", {"path": str(outside / "abs.txt"), "content": "x"}),
        ("write_file", {"path": "src/../../outside/up.txt", "content": "x"}),
        ("write_file", {"path": "out/secret.txt", "content": "x"}),
        ("write_file", {"path": "out/new.txt", "content": "x"}),
        ("edit_file", {"path": "secret_link.txt", "old_string": "secret", "new_string": "x"}),
        ("write_file", {"path": "null", "content": "x"}),
        ("write_file", {"path": "pipe", "content": "x"}),
        ("write_file", {"path": ".git/config", "content": "x"}),
        ("write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\n"}),
        ("write_file", {"path": "src", "content": "x"}),
        ("write_file", {"path": ".", "content": "x"}),
        ("write_file", {"path": "", "content": "x"}),
        ("write_file", {"path": "image.png", "content": "x"}),
        ("write_file", {"path": "dangling.txt", "content": "x"}),
        ("write_file", {"path": "evil.txt", "content": "nul \0 byte"}),
    ]
    before = sorted(p.name for p in (project / ".git").rglob("*"))
    fake_api.add(fake.tool_uses(attempts), fake.text("ok"))
    app, agent = make_app()
    run_query(app, agent, "try everything")
    found = results(fake_api.message_requests()[1])
    assert len(found) == len(attempts) >= 10
    assert [r.get("is_error") for r in found] == [True] * len(attempts), [r["content"] for r in found]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret\n"
    assert sorted(p.name for p in (project / ".git").rglob("*")) == before
    assert not (project / "evil.txt").exists()
    assert "edits" not in app.conversation.metadata  # nothing changed: no checkpoint
    assert fake_api.violations == []


def test_mode_and_line_endings_are_kept(fake_api, make_app, project):
    script = project / "run.sh"
    script.write_bytes(b"#!/bin/sh\r\necho one\r\n")
    script.chmod(0o755)
    fake_api.add(
        fake.tool_use("read_file", {"path": "run.sh"}),
        fake.tool_use("edit_file", {"path": "run.sh", "old_string": "echo one", "new_string": "echo one\necho two"}),
        fake.tool_use("write_file", {"path": "run.sh", "content": "#!/bin/sh\nexit 0\n"}),
        fake.text("ok"),
    )
    app, agent = make_app()
    run_query(app, agent, "edit the script")
    assert script.read_bytes() == b"#!/bin/sh\r\nexit 0\r\n"
    assert script.stat().st_mode & 0o777 == 0o755
    first = results(fake_api.message_requests()[2])[0]
    assert first["content"] == "updated run.sh (+1 −0 lines)" and not first.get("is_error")


@pytest.mark.parametrize(
    ("edits", "interactive", "offered"),
    [(None, False, False), ("ask", False, False), ("off", True, False), ("auto", False, True), (None, True, True)],
)
def test_the_edit_tools_are_offered_per_setting(make_app, edits, interactive, offered):
    _, agent = make_app(edits=edits, interactive=interactive)
    assert ("write_file" in agent.tools) is offered
    assert ("edit_file" in agent.tools) is offered


def test_the_config_setting_is_checked(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('[agentwinter]\nedits = "auto"\n')
    bad.write_text('[agentwinter]\nedits = "yes"\n')
    assert load_config(good).edits == "auto" and load_config(good).problems == []
    config = load_config(bad)
    assert config.edits is None
    assert config.problems == [
        f'config file {bad}: [agentwinter] edits must be "ask", "auto" or "off", not \'yes\'; using the default'
    ]


def test_help_lists_undo(make_app):
    app, _ = make_app()
    run_command(app, "!help")
    assert "`!undo [N] [--code | --conversation]`" in app.ui.out.file.getvalue()
    assert "File edits by the agent: **auto**" in app.ui.out.file.getvalue()


def cli(fake_api, tmp_path, project, *args, stdin="", config=""):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTWINTER_", "ANTHROPIC_"))}
    (tmp_path / "config.toml").write_text(config)
    env.update(
        fake_api.env(),
        XDG_DATA_HOME=str(tmp_path / "data"),
        AGENTWINTER_CONFIG=str(tmp_path / "config.toml"),
        AGENTWINTER_DISABLE_PLUGINS="sessions",
    )
    return subprocess.run(
        [AGENTWINTER, *args], input=stdin, capture_output=True, text=True, env=env, cwd=project, timeout=60
    )


@pytest.mark.slow
def test_piped_runs_edit_only_with_edits_auto(fake_api, tmp_path, project):
    fake_api.add(fake.text("no tools"))
    done = cli(fake_api, tmp_path, project, stdin="hi\n", config='[agentwinter]\nedits = "auto"\n')
    assert done.returncode == 0, done.stderr
    assert "write_file" not in json.dumps(fake_api.message_requests()[0]["tools"])  # config alone: not piped
    fake_api.add(
        fake.tool_use("write_file", {"path": "NEW.md", "content": "new\n"}),
        fake.text("Wrote it."),
    )
    done = cli(fake_api, tmp_path, project, "--edits", "auto", "-p", "write NEW.md")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Wrote it.\n"
    assert "⚙ write_file NEW.md +1 −0" in done.stderr
    assert (project / "NEW.md").read_text() == "new\n"
    assert fake_api.violations == []


def test_a_wrong_edits_flag_is_one_line(fake_api, tmp_path, project):
    done = cli(fake_api, tmp_path, project, "--edits", "always", "-p", "hi")
    assert done.returncode == 2
    assert done.stderr == "error: --edits must be ask, auto or off, not 'always'\n"
    assert fake_api.message_requests() == []
