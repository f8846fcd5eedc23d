"""Small frictions at the command line: each one a clear line, nothing half done."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agentwinter_core.ui import UI
from tests.helpers.fake_api import text

AGENTWINTER = str(Path(sys.executable).parent / "agentwinter")


def run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTWINTER, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60, **kwargs
    )


def test_a_missing_project_directory_is_refused_in_one_line(fake_api, tmp_path):
    missing = tmp_path / "nonexistent"
    done = run(["-C", str(missing), "-p", "what is here?"], fake_api.env())
    assert done.returncode == 2
    assert done.stderr == f"error: --project {missing}: no such directory\n"
    assert done.stdout == "" and fake_api.message_requests() == []


def test_a_file_is_no_project_directory(fake_api, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    done = run(["-C", str(tmp_path / "file.txt")], fake_api.env(), input="hello\n")
    assert done.returncode == 2 and "no such directory" in done.stderr


def test_a_warning_carries_one_marker():
    err = io.StringIO()
    ui = UI(interactive=False, out=io.StringIO(), err=err)
    ui.warn("⚠ 2 files changed since this session")
    ui.warn("the reply hit max_tokens")
    assert err.getvalue() == "warning: 2 files changed since this session\nwarning: the reply hit max_tokens\n"


@pytest.mark.slow
def test_piping_into_head_ends_quietly_and_asks_nothing_more(fake_api, tmp_path):
    # a long answer that holds after its first lines until the reader is gone
    fake_api.add(replace(text("line of the answer\n" * 400), fault="stall", stall=60, stall_after=3), text("second"))
    env = {**os.environ, **fake_api.env(), "AGENTWINTER_DISABLE_PLUGINS": "sessions"}
    process = subprocess.Popen(
        [AGENTWINTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(b"first question\nsecond question\n")
    process.stdin.close()
    assert process.stdout.readline() == b"line of the answer\n"
    process.stdout.close()  # what `head -1` does
    fake_api.released.set()  # the rest of the answer meets the closed pipe
    process.wait(60)
    stderr = process.stderr.read().decode()
    assert "BrokenPipe" not in stderr and "unexpected" not in stderr and "Exception ignored" not in stderr
    assert len(fake_api.message_requests()) == 1  # nobody reads the answers any more: no second query
