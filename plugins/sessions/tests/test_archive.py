"""The session archive against a real LanceDB directory."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("lancedb")

from agentwinter_sessions.archive import Archive, ArchiveUnavailable

ID = "session-20250101-120000-0a1b2c3d"


def document(session_id: str = ID, version: int = 1, question: str = "how is the cache built?", **extra) -> dict:
    output = [{"type": "text", "text": extra.pop("output", "")}]
    messages = [
        {"role": "user", "content": [{"type": "text", "text": question}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "grep", "input": {"q": "cache"}}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": output}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": f"answer number {version}"}]},
    ]
    return {
        "messages": messages,
        "created": 1.0,
        "cwd": "/project",
        "format": 1,
        "id": session_id,
        "metadata": {},
        "model": "claude",
        "name": extra.pop("name", ""),
        "updated": 2.0 + version,
        "usage": {},
        "version": version,
        **extra,
    }


def put(archive: Archive, doc: dict) -> bool:
    return archive.put(doc, json.dumps(doc).encode())


@pytest.fixture
def archive(tmp_path) -> Archive:
    return Archive(tmp_path / "archive")


def test_same_version_is_archived_once(archive):
    assert put(archive, document()) is True
    assert put(archive, document()) is False
    assert archive.versions() == {ID: 1}
    assert len(archive._scan(["id"])) == 1


def test_newer_version_is_added_and_latest_returns_it(archive):
    put(archive, document(version=1))
    newer = document(version=3, question="now with ünïcode")
    raw = json.dumps(newer, ensure_ascii=False).encode() + b"  "  # padded as Redis may hold it: kept byte for byte
    assert archive.put(newer, raw) is True
    assert archive.versions() == {ID: 3}
    assert archive.latest(ID) == raw
    assert archive.latest("session-unknown") is None


def test_search_finds_words_from_tool_results_and_questions(archive):
    other = "session-20250102-120000-ffffffff"
    put(archive, document(output="traceback: ZeroDivisionError in parser"))
    put(archive, document(other, question="Where does the frobnicator live?", name="frob"))
    [hit] = archive.search("zerodivisionerror")
    assert (hit.id, hit.version, hit.cwd) == (ID, 1, "/project")
    assert "ZeroDivisionError" in hit.snippet and "\n" not in hit.snippet
    assert hit.first_query == "how is the cache built?"
    [hit] = archive.search("frobnicator")
    assert (hit.id, hit.name) == (other, "frob")
    assert archive.search("grep") and archive.search("nonexistentword") == []
    assert archive.search("frobnicator zerodivisionerror") == []  # every word must match, in one session


def test_search_finds_rows_added_after_the_index_and_only_latest_versions(archive):
    for version in (1, 2, 3):
        put(archive, document(version=version, output="shared marker"))
    put(archive, document("session-20250103-000000-00000000", output="shared marker"))
    hits = archive.search("shared marker")
    assert sorted((hit.id, hit.version) for hit in hits) == [(ID, 3), ("session-20250103-000000-00000000", 1)]
    assert [hit.id for hit in archive.search("marker", limit=1)] in ([ID], ["session-20250103-000000-00000000"])


def test_empty_or_missing_archive(archive, tmp_path):
    assert archive.search("anything") == []
    assert archive.versions() == {} and archive.find("session") == [] and archive.latest(ID) is None
    assert not (tmp_path / "archive").exists()  # reading never creates the directory


def test_query_punctuation_does_not_raise(archive):
    put(archive, document(output="foo bar"))
    for query in ["\"foo' OR 1=1 --", '"foo bar"', "foo)", "*", "", "   ", "id = 'x'", "\\", "+-:~^"]:
        assert isinstance(archive.search(query), list)
    assert [hit.id for hit in archive.search("\"foo' OR --")] == [ID]


def test_find_by_name_exact_id_and_prefix(archive):
    put(archive, document(name="refactor"))
    put(archive, document("session-20250101-130000-99999999", name="it's quoted"))
    put(archive, document("session-20250101-130000-99999999", version=2, name="it's quoted"))
    assert archive.find("refactor") == [ID]
    assert archive.find(ID) == [ID]
    assert archive.find("session-20250101-1") == [ID, "session-20250101-130000-99999999"]
    assert archive.find("it's quoted") == ["session-20250101-130000-99999999"]
    assert archive.find("nothing") == []


def test_ids_with_quotes_are_not_sql(archive):
    put(archive, document("x' OR '1'='1"))
    put(archive, document(ID))
    assert json.loads(archive.latest("x' OR '1'='1"))["id"] == "x' OR '1'='1"
    assert put(archive, document("x' OR '1'='1")) is False


def test_unavailable_without_lancedb(archive, monkeypatch):
    monkeypatch.setitem(sys.modules, "lancedb", None)
    with pytest.raises(ArchiveUnavailable) as info:
        archive.search("x")
    assert str(info.value) == 'session archive needs LanceDB: pip install "agentwinter-sessions[archive]"'
    with pytest.raises(ArchiveUnavailable):
        put(archive, document())


def test_search_rebuilds_a_missing_index(archive, tmp_path):
    import lancedb

    put(archive, document(output="orphaned words"))
    table = lancedb.connect(tmp_path / "archive").open_table("sessions")
    table.drop_index(table.list_indices()[0].name)
    assert [hit.id for hit in archive.search("orphaned")] == [ID]


def test_writers_at_once_take_turns_and_none_conflicts(archive):
    """Processes (and a REPL's sweep thread) archive into one directory at the same moment: every row lands,
    the same version once, with no commit conflict to retry."""
    from concurrent.futures import ThreadPoolExecutor

    versions = [document(f"session-20250101-12000{n}-0a1b2c3d", version=1) for n in range(4)] * 2
    with ThreadPoolExecutor(len(versions)) as pool:
        outcomes = list(pool.map(lambda doc: archive.put(doc, json.dumps(doc).encode()), versions))
    assert sorted(outcomes) == [False] * 4 + [True] * 4  # each version archived once
    assert len(archive.versions()) == 4
