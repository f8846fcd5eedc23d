"""The archive sweep's schedule: driven by an injected clock, so it holds on a machine booted a second ago."""

from __future__ import annotations

from agentwinter_sessions.archive import Archive
from agentwinter_sessions.archiving import ArchiveKeeper
from agentwinter_sessions.connect import target
from agentwinter_sessions.redis_store import RedisStore
from agentwinter_sessions.settings import Settings


def test_the_first_query_sweeps_whatever_the_clock_says_then_every_sweep_seconds(redis_server, tmp_path):
    settings = Settings(target=target(redis_server.url(), {}), archive_dir=tmp_path / "archive", sweep_seconds=300)
    store = RedisStore(settings.target, 60)
    now = [0.0]  # monotonic time on a machine that has just booted
    problems: list[str] = []
    keeper = ArchiveKeeper(settings, lambda: store, problems.append, clock=lambda: now[0])
    keeper.__dict__["archive"] = Archive(settings.archive_dir)  # the archive extra, without the import check
    keeper.sweep_if_due()
    first = keeper.sweeper
    assert first is not None
    first.join(10)
    now[0] = 299.0
    keeper.sweep_if_due()
    assert keeper.sweeper is first  # not due yet
    now[0] = 300.0
    keeper.sweep_if_due()
    assert keeper.sweeper is not first
    keeper.finish()
    assert problems == []
