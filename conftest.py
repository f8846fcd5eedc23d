"""Shared fixtures: the fake Messages API and a private redis-server, both real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.fake_api import FakeAnthropic
from tests.helpers.redis_server import RedisServer


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory, monkeypatch) -> None:
    """Tests never touch the developer's data and config directories (REPL history, session archive, cached help)."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("AGENTWINTER_ARCHIVE_DIR", str(home / "archive"))
    # Off unless a test asks for it (the archive fixture): each archiver imports LanceDB, ~2 s of CPU.
    monkeypatch.setenv("AGENTWINTER_ARCHIVE", "off")


@pytest.fixture
def archive_on(monkeypatch) -> None:
    """The LanceDB archive turned on, as it is once the archive extra is installed."""
    pytest.importorskip("lancedb")
    monkeypatch.setenv("AGENTWINTER_ARCHIVE", "on")
