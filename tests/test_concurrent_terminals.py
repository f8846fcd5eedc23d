"""Several terminals on one named session at once, started together: no query is lost, and a name belongs
to exactly one session (the short version of the stress runner's 8 x 50)."""

from __future__ import annotations

import json
import subprocess

import orjson
import pytest

from tests.test_lifecycle import AGENTWINTER, project_env
from tests.test_sessions import user_texts

TERMINALS, QUERIES = 4, 6


@pytest.fixture
def env(fake_api, redis_server, tmp_path, monkeypatch):
    return project_env(fake_api, redis_server, tmp_path, monkeypatch)


def test_terminals_started_together_on_one_name_keep_every_query(env, fake_api, redis_server):
    lines = {t: [f"t{t} q{q}" for q in range(QUERIES)] for t in range(TERMINALS)}
    runs = [
        subprocess.Popen(
            [AGENTWINTER, "--session", "shared"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=env,
        )
        for _ in range(TERMINALS)
    ]
    outputs = [run.communicate("\n".join(lines[t]) + "\n", timeout=120) for t, run in enumerate(runs)]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    client = redis_server.client(1)
    named = client.hget("agentwinter:names", "shared").decode()
    listing = json.loads(
        subprocess.run([AGENTWINTER, "sessions", "list", "--json"], capture_output=True, text=True, cwd=env).stdout
    )
    kept: list[str] = []
    for row in listing:
        kept += user_texts(orjson.loads(client.get(f"agentwinter:session:{row['id']}"))["messages"])
        if row["id"] != named:  # a fork: its terminal was told, and it has a name derived from the original
            assert row["name"].startswith("shared-"), row
            assert any(f"goes on as {row['id']}" in err for _, err in outputs), row
    assert sorted(kept) == sorted(line for t in lines for line in lines[t])  # every query, exactly once
    mine = user_texts(orjson.loads(client.get(f"agentwinter:session:{named}"))["messages"])
    for t in lines:  # each terminal's queries in its own order
        assert [text for text in mine if text.startswith(f"t{t} ")] == [x for x in lines[t] if x in mine]
    assert fake_api.violations == []
