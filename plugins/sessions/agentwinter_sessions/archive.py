"""The local archive of sessions: a LanceDB table that outlives Redis, searchable by full text.

One row per archived (id, version): a few listing columns, ``text`` (what a user would search for: their
questions, the answers, tool calls and their results) under a native full-text index, and ``raw``, the
document exactly as Redis held it, so a restore is lossless. LanceDB is an optional dependency: it is
imported only when the archive is used.

Beside the table, ``archived.jsonl`` records each version archived and each session removed, one JSON line
appended per change: listings read which sessions are archived from it without importing LanceDB (~2 s).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentwinter_core.api import history
from agentwinter_sessions.document import first_query

TABLE = "sessions"
SNIPPET = 160
# New rows are searched without the index (a flat scan) until an optimize folds them in: cheap while few.
UNINDEXED = 64
COLUMNS = ["id", "version", "name", "cwd", "updated", "first_query", "text", "_score"]  # lance warns without _score
LEDGER = "archived.jsonl"


INSTALL_HINT = 'session archive needs LanceDB: pip install "agentwinter-sessions[archive]"'
OFF_HINT = "the session archive is turned off ([sessions] archive = false, or AGENTWINTER_ARCHIVE=off)"


class ArchiveUnavailable(Exception):
    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


@dataclass
class Hit:
    id: str
    version: int
    name: str
    cwd: str
    updated: float
    first_query: str
    snippet: str


class Archive:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, document: dict[str, Any], raw: bytes) -> bool:
        """Archive one version of a session; False if that id and version already are."""
        row = self._row(document, raw)
        with writing(self.directory):
            table = self._table(create=True)
            if table.count_rows(f"key = {quote(row['key'][0].as_py())}"):
                self.record(row["id"][0].as_py(), row["version"][0].as_py())  # (again: a ledger line may be missing)
                return False
            # merge_insert on the primary key, not add: even a writer that does not take the lock cannot make
            # a second row for the same version.
            merge = table.merge_insert("key").when_not_matched_insert_all()
            inserted = merge.execute(row).num_inserted_rows > 0
            self.record(row["id"][0].as_py(), row["version"][0].as_py())
            indices = table.list_indices()
            if not indices:
                index(table)
            elif table.index_stats(indices[0].name).num_unindexed_rows >= UNINDEXED:
                table.optimize()  # compacts the one-row fragments and adds them to the index incrementally
            return inserted

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """Best matches first, each session once, at its latest archived version."""
        from lancedb.query import FullTextOperator, MatchQuery

        table = self._table()
        if table is None or not table.count_rows():
            return []
        if not table.list_indices():  # a put that stopped before indexing: without an index nothing matches
            with writing(self.directory):
                index(table)
        latest = self.versions()
        # A MatchQuery is never parsed: quotes and operators a user types are just text. AND: every word counts.
        match = MatchQuery(query, "text", operator=FullTextOperator.AND)
        fetch = limit * 2
        while True:  # older versions may crowd the top: fetch more until enough are latest, or none are left
            rows = table.search(match, query_type="fts").select(COLUMNS).limit(fetch).to_list()
            hits: dict[str, dict[str, Any]] = {}  # by id: best first, once each
            for row in rows:
                if latest.get(row["id"]) == row["version"]:
                    hits.setdefault(row["id"], row)
            if len(hits) >= limit or len(rows) < fetch:
                return [hit(row, query) for row in list(hits.values())[:limit]]
            fetch *= 4

    def latest(self, session_id: str) -> bytes | None:
        """The raw document of the highest version archived for ``session_id``."""
        table = self._table()
        if table is None:
            return None
        rows = table.search().where(f"id = {quote(session_id)}").select(["version", "raw"]).to_list()
        return max(rows, key=lambda row: row["version"])["raw"].encode() if rows else None

    def remove(self, session_id: str) -> bool:
        """Delete every archived version of a session; False when there was none."""
        table = self._table()
        if table is None or not table.count_rows(f"id = {quote(session_id)}"):
            return False
        with writing(self.directory):
            table.delete(f"id = {quote(session_id)}")
            self.record(session_id, 0)
        return True

    def record(self, session_id: str, version: int) -> None:
        """Note in the ledger that ``version`` of a session is archived (0: none of it any more). One short
        write in append mode: lines of processes archiving at once never mix; each starts on a new line, so
        one cut short (a full disk) spoils no other."""
        line = "\n" + json.dumps({"id": session_id, "version": version})
        fd = os.open(self.directory / LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def fill_ledger(self) -> None:
        """Record what an archive made before the ledger existed, once."""
        if not (self.directory / LEDGER).exists() and self._table() is not None:
            for session_id, version in self.versions().items():
                self.record(session_id, version)

    def versions(self) -> dict[str, int]:
        """id -> highest archived version."""
        result: dict[str, int] = {}
        for row in self._scan(["id", "version"]):
            result[row["id"]] = max(row["version"], result.get(row["id"], 0))
        return result

    def find(self, ref: str) -> list[str]:
        """Ids that are ``ref``, are named ``ref`` or start with ``ref``."""
        rows = self._scan(["id", "name"])
        return sorted({row["id"] for row in rows if row["id"].startswith(ref) or row["name"] == ref})

    def _scan(self, columns: list[str]) -> list[dict[str, Any]]:
        table = self._table()
        return [] if table is None else table.search().select(columns).to_arrow().to_pylist()

    def _table(self, create: bool = False) -> Any:
        try:
            import lancedb
        except ImportError:
            raise ArchiveUnavailable() from None
        if not create and not self.directory.is_dir():
            return None  # connecting would create the directory
        # Consistency interval 0: every operation sees the latest commit, another process's too.
        db = lancedb.connect(self.directory, read_consistency_interval=timedelta(0))
        if create:
            return db.create_table(TABLE, schema=schema(), exist_ok=True)  # under the caller's writing()
        try:
            return db.open_table(TABLE)
        except ValueError:  # "Table 'sessions' was not found"
            return None

    @staticmethod
    def _row(document: dict[str, Any], raw: bytes) -> Any:
        import pyarrow as pa

        messages = document.get("messages") or []
        version = int(document.get("version") or 0)
        row = {
            "key": f"{document['id']}#{version}",
            "id": document["id"],
            "version": version,
            "name": str(document.get("name") or ""),
            "cwd": str(document.get("cwd") or ""),
            "created": float(document.get("created") or 0),
            "updated": float(document.get("updated") or 0),
            "messages": len(messages),
            "first_query": first_query(messages),
            "text": "\n".join(searchable(messages)),
            "raw": raw.decode(),
        }
        return pa.Table.from_pylist([row], schema=schema())


def archived(directory: Path) -> dict[str, int]:
    """id -> highest archived version, from the ledger: cheap, no LanceDB."""
    result: dict[str, int] = {}
    try:
        lines = (directory / LEDGER).read_bytes().splitlines()
    except OSError:  # nothing archived yet
        return result
    for line in lines:
        try:
            entry = json.loads(line)
            session_id, version = str(entry["id"]), int(entry["version"])
        except (ValueError, TypeError, KeyError):
            continue  # a line cut by a full disk: the next archiving of that session writes it again
        if version:
            result[session_id] = max(version, result.get(session_id, 0))
        else:
            result.pop(session_id, None)
    return result


def schema() -> Any:
    import pyarrow as pa

    text, number = pa.string(), pa.int64()
    # The primary key, (id, version) in one column: lance has no compound keys. Declared in the schema, so
    # the commit that creates the table sets it too.
    key = pa.field("key", text, nullable=False, metadata={"lance-schema:unenforced-primary-key:position": "1"})
    names = ("id", "version", "name", "cwd", "created", "updated", "messages", "first_query", "text", "raw")
    types = (text, number, text, text, pa.float64(), pa.float64(), number, text, pa.large_string(), pa.large_string())
    return pa.schema([key, *zip(names, types, strict=True)])


def index(table: Any) -> None:
    from lancedb.index import FTS

    table.create_index("text", config=FTS(), replace=True)


@contextlib.contextmanager
def writing(directory: Path) -> Iterator[None]:
    """Hold the archive's write lock: agentwinter processes (and a REPL's sweep thread) write one at a time.

    Lance lets concurrent commits conflict and reports that only in an error's text; taking turns means no
    write ever conflicts, so none needs retrying. Not re-entrant: the writes inside take no lock themselves.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".write.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def quote(value: str) -> str:
    """A SQL string literal for a LanceDB filter: quotes doubled, nothing else is special."""
    return "'" + value.replace("'", "''") + "'"


def searchable(messages: list[dict[str, Any]]) -> list[str]:
    """The text worth finding a session by; thinking and images are left out."""
    parts: list[str] = []
    for message in messages:
        for block in history.blocks(message):
            kind = block.get("type")
            if kind == "text":
                parts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                parts.append(f"{block.get('name', '')} {json.dumps(block.get('input'), ensure_ascii=False)}")
            elif kind == "tool_result":
                parts += [str(b["text"]) for b in history.content_blocks(block.get("content")) if "text" in b]
    return parts


def one_line(text: str) -> str:
    return " ".join(text.split())


def hit(row: dict[str, Any], query: str) -> Hit:
    fields = ("id", "version", "name", "cwd", "updated", "first_query")
    return Hit(**{name: row[name] for name in fields}, snippet=snippet(row["text"], query))


def snippet(text: str, query: str) -> str:
    """About SNIPPET characters around the first match of a query word (the start when stemming hid it)."""
    words = [re.escape(word) for word in re.findall(r"\w+", query)]
    found = re.search(r"\b(?:" + "|".join(words) + ")", text, re.IGNORECASE) if words else None
    start = max((found.start() if found else 0) - SNIPPET // 3, 0)
    return one_line(text[start : start + SNIPPET])
