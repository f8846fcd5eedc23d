"""Hostile tool input: FIFOs, sockets, catastrophic patterns, undecodable names and contents, huge lines."""

from __future__ import annotations

import io
import os
import socket

import pytest

from agentwinter_core import project_tools as pt
from agentwinter_core.app import build_agent, build_app
from agentwinter_core.host import build_plugin_manager
from agentwinter_core.query import run_query
from agentwinter_core.tools import ToolContext, ToolError
from agentwinter_core.ui import UI
from tests.helpers import fake_api as fake
from tests.helpers.memory import Memory

BAD_NAME = os.fsdecode(b"caf\xe9.txt")  # latin-1 bytes: not UTF-8, kept by Python as a lone surrogate


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("needle = 1\n")
    os.mkfifo(root / "pipe")
    (root / BAD_NAME).write_bytes(b"needle in caf\xe9\n")
    (root / "latin1.txt").write_bytes("needle: Gr\xfc\xdfe\n".encode("latin-1"))
    (root / "utf16.txt").write_text("needle", encoding="utf-16")
    (root / "aaaa.txt").write_text("a" * 50_000 + "!\n")
    return root


@pytest.fixture
def ctx(project):
    return ToolContext(project_dir=project)


def test_fifos_and_sockets_are_skipped_and_never_opened(project, ctx, tmp_path):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(project / "sock"))
    try:
        listed = pt.list_files({}, ctx).splitlines()
        assert "pipe" not in listed and "sock" not in listed and "app.py" in listed
        assert "pipe" not in pt.search({"pattern": "needle"}, ctx)
        with pytest.raises(ToolError, match="not a regular file"):
            pt.read_file({"path": "pipe"}, ctx)
        with pytest.raises(ToolError, match="not a regular file"):
            pt.read_file({"path": "sock"}, ctx)
    finally:
        listener.close()


def test_a_catastrophic_pattern_finishes(ctx):
    assert "aaaa.txt:1:" in pt.search({"pattern": "(a+)+!$"}, ctx)
    assert pt.search({"pattern": "(a+)+$"}, ctx) == "(no matches)"  # exponential for a backtracking engine
    assert pt.search({"pattern": "(a+)+$", "path": "aaaa.txt"}, ctx) == "(no matches)"


def test_search_takes_one_file_as_its_path(ctx):
    assert pt.search({"pattern": "needle", "path": "app.py"}, ctx) == "app.py:1: needle = 1"


def test_search_answers_lines_whatever_their_endings(project, ctx):
    (project / "lines.txt").write_bytes(b"alpha\nbeta\r\nGamma beta\n\nend")
    def found(pattern: str, **options: object) -> list[str]:
        return pt.search({"pattern": pattern, "path": "lines.txt", **options}, ctx).splitlines()

    assert found("^beta$") == ["lines.txt:2: beta"]
    assert found("a$") == ["lines.txt:1: alpha", "lines.txt:2: beta", "lines.txt:3: Gamma beta"]
    assert found("gamma", ignore_case=True) == ["lines.txt:3: Gamma beta"]
    assert found("a\\sb") == ["lines.txt:3: Gamma beta"]  # \s never crosses a line end
    assert found("^end") == ["lines.txt:5: end"]
    assert found("x*") == [f"lines.txt:{n}: {t}" for n, t in enumerate(["alpha", "beta", "Gamma beta", "", "end"], 1)]


def test_unsupported_and_invalid_patterns_are_one_line(ctx):
    for pattern in ("(a)\\1", "(?<=x)y", "([", ""):
        with pytest.raises(ToolError) as caught:
            pt.search({"pattern": pattern}, ctx)
        assert "\n" not in str(caught.value) and "pattern" in str(caught.value)


def test_undecodable_names_and_contents_are_shown_with_replacement(ctx):
    listed = pt.list_files({}, ctx)
    assert "caf\ufffd.txt" in listed
    found = pt.search({"pattern": "needle"}, ctx)
    assert "caf\ufffd.txt:1: needle in caf\ufffd" in found
    assert "latin1.txt:1: needle: Gr\ufffd\ufffde" in found
    for text in (listed, found):
        text.encode("utf-8")  # nothing unencodable left: it can be sent to the API
    with pytest.raises(ToolError, match="binary"):
        pt.read_file({"path": "utf16.txt"}, ctx)


def test_a_long_single_line_is_read_in_pieces(project, ctx):
    (project / "one-line.json").write_text("x" * 250_000 + "END")
    pieces, args = [], {"path": "one-line.json"}
    while True:
        out = pt.read_file(args, ctx)
        body, _, notice = out.partition("\n… ")
        pieces.append(body.split("\t", 1)[1])
        if not notice:
            break
        assert "start_line=1 start_column=" in notice
        args = {"path": "one-line.json", "start_line": 1, "start_column": int(notice.rsplit("=", 1)[1])}
    assert len(pieces) == 3
    assert "".join(pieces) == "x" * 250_000 + "END"


def test_a_10_mb_file_is_capped(project, ctx):
    (project / "big.txt").write_text("line of text\n" * 800_000)  # 10.4 MB
    out = pt.read_file({"path": "big.txt"}, ctx)
    assert len(out) < pt.MAX_READ_BYTES + 200
    assert out.endswith(f"read on with start_line={pt.MAX_READ_LINES + 1}")
    found = pt.search({"pattern": "line"}, ctx)
    assert found.count("\n") == pt.MAX_MATCHES and "more matches not shown" in found


def test_bad_numbers_are_tool_errors(ctx):
    with pytest.raises(ToolError, match="start_line must be a whole number"):
        pt.read_file({"path": "app.py", "start_line": "two"}, ctx)


def test_an_undecodable_name_never_poisons_later_queries(fake_api, project, tmp_path, monkeypatch):
    for name, value in fake_api.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTWINTER_CONFIG", str(tmp_path / "none.toml"))
    pm = build_plugin_manager(disabled={"sessions", "cleanup", "serialization"})
    pm.register(Memory())
    app = build_app(pm, interactive=False, project_dir=project)
    app.ui = UI(interactive=False, out=io.StringIO(), err=io.StringIO())
    agent = build_agent(app)
    fake_api.add(
        fake.tool_uses([("list_files", {}), ("search", {"pattern": "needle"})]),
        fake.text("found them"),
        fake.text("second answer"),
        fake.text("third answer"),
    )
    for query in ("find needles", "and then?", "once more"):
        assert run_query(app, agent, query).error is None
    assert len(fake_api.message_requests()) == 4
    assert "caf\ufffd.txt" in str(fake_api.message_requests()[-1]["messages"])
    assert fake_api.violations == []
