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
