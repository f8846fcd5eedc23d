"""Sessions know the agent's own edits: silent on resume about them, listed by ``sessions show``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fake_api as fake
from tests.helpers import gitrepo
from tests.helpers.app import cli_env

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


@pytest.mark.slow
def test_resume_reports_outside_changes_only_and_show_lists_the_edits(fake_api, redis_server, tmp_path, monkeypatch):
    gitrepo.isolate(tmp_path, monkeypatch)
    project = gitrepo.init(tmp_path / "project")
    gitrepo.commit(project, "start", **{"app.py": "value = 1\n", "lib.py": "def helper():\n    return 1\n"})
    env = cli_env(fake_api, tmp_path, redis_server.url())

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        done = subprocess.run(
            [AGENTWINTER, *args], input=stdin, capture_output=True, text=True, env=env, cwd=project, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    fake_api.add(
        fake.text("looked around"),  # the working tree is recorded as this first query starts
        fake.tool_use("read_file", {"path": "app.py"}),
        fake.tool_use("edit_file", {"path": "app.py", "old_string": "value = 1", "new_string": "value = 2"}),
        fake.tool_use("write_file", {"path": "pkg/new.py", "content": "NEW = 1\n"}),
        fake.text("edited"),
    )
    run("--session", "feature", "--edits", "auto", stdin="look around\nnow edit\n")
    (project / "lib.py").write_text("def helper():\n    return 'changed by hand'\n")

    fake_api.add(fake.text("resumed"))
    resumed = run("--session", "feature", stdin="go on\n")
    assert "warning: 1 file changed since this session" in resumed.stderr  # lib.py only: the own edits are known
    note = fake_api.message_requests()[-1]["messages"][-1]["content"][0]["text"]
    assert note.endswith("re-read them before relying on earlier tool results): lib.py")

    shown = run("sessions", "show", "feature").stdout
    assert "## Files the agent changed\n\n- query 2 (now edit): `app.py`, `pkg/new.py`\n" in shown
    assert fake_api.violations == []
