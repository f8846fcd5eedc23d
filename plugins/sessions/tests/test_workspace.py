"""Working-tree snapshots and the changes since one, against real git repositories under tmp_path."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from agentwinter_sessions.workspace import Changes, changes, read_paths, snapshot

from tests.helpers.gitrepo import commit, git, init, isolate


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = init(tmp_path / "repo")
    commit(repo, "first", **{"a.py": "a = 1\n", "b.py": "b = 1\n"})
    return repo


def test_unchanged_tree_is_no_change(repo: Path) -> None:
    (repo / "b.py").write_text("b = 2\n")  # dirty at save time, and still exactly so
    (repo / "new").mkdir()
    (repo / "new" / "d.py").write_text("d = 1\n")  # untracked files are listed one by one, not as "new/"
    before = snapshot(repo, [])
    assert before["git"] is True and before["branch"] == "main"
    digest = {
        name: hashlib.sha256(text).hexdigest() for name, text in {"b.py": b"b = 2\n", "new/d.py": b"d = 1\n"}.items()
    }
    assert before["dirty"] == digest
    assert changes(before, repo) is None
    assert snapshot(repo, [])["digest"] == before["digest"]


def test_commit_dirty_and_untracked_files(repo: Path) -> None:
    old = git(repo, "rev-parse", "HEAD")
    before = snapshot(repo, ["a.py"])
    assert before["head"] == old and before["dirty"] == {}
    new = commit(repo, "second", **{"a.py": "a = 2\n"})
    (repo / "b.py").write_text("b = 2\n")
    (repo / "c.py").write_text("c = 1\n")
    found = changes(before, repo)
    assert found is not None
    assert found.files == ["a.py", "b.py", "c.py"]
    assert (found.head_before, found.head_after) == (old, new)
    assert found.summary() == f"⚠ 3 files changed since this session (HEAD {old[:7]} → {new[:7]})"
    assert found.note().endswith("earlier tool results): a.py, b.py, c.py")


def test_dirty_file_reverted_counts(repo: Path) -> None:
    (repo / "b.py").write_text("b = 2\n")
    before = snapshot(repo, [])
    git(repo, "checkout", "--", "b.py")
    found = changes(before, repo)
    assert found is not None and found.files == ["b.py"]
    assert found.summary() == "⚠ 1 file changed since this session"


def test_gitignored_files_are_not_dirty(repo: Path) -> None:
    commit(repo, "ignore", **{".gitignore": "*.log\n"})
    (repo / "run.log").write_text("one\n")
    before = snapshot(repo, [])
    assert before["dirty"] == {}
    (repo / "run.log").write_text("two\n")
    assert changes(before, repo) is None


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = init(tmp_path / "fresh")
    (repo / "c.py").write_text("c = 1\n")
    before = snapshot(repo, [])
    assert (before["git"], before["head"], before["branch"]) == (True, None, "main")
    assert list(before["dirty"]) == ["c.py"]
    (repo / "c.py").write_text("c = 2\n")
    found = changes(before, repo)
    assert found is not None and found.files == ["c.py"] and found.head_before is None
    head = commit(repo, "first", **{"d.py": "d = 1\n"})
    found = changes(before, repo)
    assert found is not None and found.files == ["c.py", "d.py"] and found.head_after == head
    assert found.summary() == f"⚠ 2 files changed since this session (HEAD none → {head[:7]})"


def test_old_head_gone_falls_back_to_dirty_state(repo: Path) -> None:
    gone = commit(repo, "doomed", **{"a.py": "a = 2\n"})
    before = snapshot(repo, [])
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    new = commit(repo, "rewritten", **{"a.py": "a = 3\n"})
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert subprocess.run(["git", "-C", str(repo), "cat-file", "-e", gone], capture_output=True).returncode != 0
    (repo / "b.py").write_text("b = 2\n")
    found = changes(before, repo)
    assert found is not None and found.files == ["b.py"]
    assert (found.head_before, found.head_after) == (gone, new)


def test_project_in_a_subdirectory_of_the_repository(repo: Path) -> None:
    commit(repo, "sub", **{"sub/x.py": "x = 1\n"})
    before = snapshot(repo / "sub", [])
    commit(repo, "both", **{"a.py": "a = 2\n", "sub/x.py": "x = 2\n"})
    (repo / "sub" / "y.py").write_text("y = 1\n")
    (repo / "b.py").write_text("b = 2\n")  # outside the project: not the model's business
    found = changes(before, repo / "sub")
    assert found is not None and found.files == ["x.py", "y.py"]


def test_symlink_out_of_the_project_is_not_followed(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("one\n")
    (repo / "leak").symlink_to(secret)
    before = snapshot(repo, [])
    assert before["dirty"]["leak"].startswith("link:")
    secret.write_text("two\n")
    assert changes(before, repo) is None


def test_outside_git_reports_read_files_only(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    project.mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (project / name).write_text(f"{name}\n")
    before = snapshot(project, ["a.py", "b.py", "later.py"])
    assert before["git"] is False
    assert sorted(before["files"]) == ["a.py", "b.py", "later.py"] and before["files"]["later.py"] is None
    assert changes(before, project) is None
    stamp = (project / "a.py").stat().st_mtime_ns + 5_000_000_000
    os.utime(project / "a.py", ns=(stamp, stamp))
    (project / "b.py").unlink()
    (project / "c.py").write_text("unread, changed\n")
    found = changes(before, project)
    assert found is not None and found.files == ["a.py", "b.py"]
    assert (found.head_before, found.head_after) == (None, None)
    assert found.summary() == "⚠ 2 files changed since this session"
    (project / "later.py").write_text("appeared\n")
    assert changes(before, project).files == ["a.py", "b.py", "later.py"]


def test_paths_outside_the_project_are_ignored(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    project.mkdir()
    (project / "a.py").write_text("a\n")
    (tmp_path / "outside.txt").write_text("one\n")
    (project / "link.py").symlink_to(tmp_path / "outside.txt")
    before = snapshot(project, ["../outside.txt", str(tmp_path / "outside.txt"), "..", "a.py", "link.py"])
    assert before["files"]["link.py"] is None and sorted(before["files"]) == ["a.py", "link.py"]
    (tmp_path / "outside.txt").write_text("two, longer\n")
    assert changes(before, project) is None
    planted = {"git": False, "files": {"../outside.txt": [0, 0]}}  # stored by someone else: still never looked at
    assert changes(planted, project) is None


def test_a_symlinked_directory_counts_only_when_it_stays_inside(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "src" / "real").mkdir(parents=True)
    (project / "src" / "real" / "a.py").write_text("a\n")
    (project / "src" / "alias").symlink_to(project / "src" / "real")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.py").write_text("b\n")
    (project / "src" / "out").symlink_to(tmp_path / "elsewhere")
    before = snapshot(project, ["src/alias/a.py", "src/out/b.py", "src/real/a.py"])
    assert sorted(before["files"]) == ["src/alias/a.py", "src/real/a.py"]
    assert before["files"]["src/alias/a.py"] == before["files"]["src/real/a.py"] is not None


def test_read_paths_from_mixed_messages() -> None:
    messages = [
        {"role": "user", "content": [{"type": "tool_use", "name": "read_file", "input": {"path": "user.py"}}]},
        {"role": "assistant", "content": "plain text"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "looking"},
                {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "src/b.py"}},
                {"type": "tool_use", "id": "t2", "name": "write_file", "input": {"path": "w.py"}},
                {"type": "tool_use", "id": "t3", "name": "read_file", "input": {"path": "a.py"}},
                {"type": "tool_use", "id": "t4", "name": "read_file", "input": "a.py"},
                {"type": "tool_use", "id": "t5", "name": "read_file", "input": {"path": 3}},
                "junk",
            ],
        },
        {"role": "assistant", "content": [{"type": "tool_use", "name": "read_file", "input": {"path": "a.py"}}]},
        "junk",
    ]
    assert read_paths(messages) == ["a.py", "src/b.py"]


@pytest.mark.parametrize(
    "before",
    [
        {},
        {"git": "x"},
        {"git": True},
        {"git": True, "head": "--output=/tmp/x", "dirty": {}},
        {"git": True, "head": None, "dirty": ["a.py"]},
        {"git": False, "files": ["a.py"]},
    ],
)
def test_malformed_before_is_no_change(repo: Path, before: dict) -> None:
    (repo / "b.py").write_text("b = 2\n")  # a real change: only the malformed snapshot hides it
    assert changes(before, repo) is None


def test_note_caps_the_list() -> None:
    found = Changes([f"f{i:02}.py" for i in range(53)], None, None)
    note = found.note()
    assert "f49.py" in note and "f50.py" not in note and note.endswith("f49.py … and 3 more")
    assert found.summary() == "⚠ 53 files changed since this session"


def test_snapshot_leaves_the_index_alone(repo: Path) -> None:
    # A plain `git status` would refresh the stale stat data in .git/index and rewrite it, under a lock.
    stamp = (repo / "a.py").stat().st_mtime_ns + 5_000_000_000
    os.utime(repo / "a.py", ns=(stamp, stamp))
    index = (repo / ".git" / "index").read_bytes()
    assert snapshot(repo, [])["dirty"] == {}
    assert (repo / ".git" / "index").read_bytes() == index
