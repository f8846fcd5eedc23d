"""The Redis store's contract, against a real redis-server: listing, pruning, names, expiry, size."""

from __future__ import annotations

import threading

import orjson
import pytest
from agentwinter_sessions.connect import target
from agentwinter_sessions.document import Encoder, summary_of
from agentwinter_sessions.redis_store import INDEX, RedisStore, directory_key, document_key, meta_key

TTL = 2700


@pytest.fixture
def store(redis_server):
    return RedisStore(target(redis_server.url(), {}), TTL)


def put(store: RedisStore, session_id: str, cwd: str = "/p", name: str = "", size: int = 10) -> bytes:
    document = {"id": session_id, "cwd": cwd, "name": name, "messages": [{"role": "user", "content": "x" * size}]}
    raw = Encoder(orjson.dumps).encode({k: v for k, v in document.items() if k != "messages"}, document["messages"])
    assert store.save(session_id, raw, 1, 0, summary_of(document, len(raw)))
    return raw


def test_save_is_a_compare_and_set_on_the_version(store):
    raw = put(store, "s1")
    assert store.load("s1") == (raw, 1)
    assert not store.save("s1", b'{"messages":[]}', 2, 0, summary_of({}, 2))  # someone else stored version 1
    assert store.load("s1") == (raw, 1)
    assert store.save("s1", b'{"a":1}', 2, 1, summary_of({}, 7))
    assert store.save("s1", b'{"b":2}', 9, None, summary_of({}, 7))  # None: whatever is there (import)
    assert store.load("s1") == (b'{"b":2}', 9)
    assert store.touch("s1") == (9, 7)
    assert store.touch("nope") is None


def test_a_touch_watches_so_a_write_between_it_and_the_save_wins(store, redis_server):
    """The touch's WATCH stands for the compare: another process's save (or a hand's SET) between the touch
    and the save makes Redis refuse the save's EXEC, and nothing is overwritten."""
    other = RedisStore(target(redis_server.url(), {}), TTL)  # another terminal
    put(store, "s1")
    assert store.touch("s1") == (1, len(store.load("s1")[0]))
    assert other.save("s1", b'{"theirs":2}', 2, 1, summary_of({}, 12))
    assert not store.save("s1", b'{"mine":2}', 2, 1, summary_of({}, 10))
    assert store.load("s1") == (b'{"theirs":2}', 2)
    assert store.touch("s1") == (2, 12)
    redis_server.client(1).set(document_key("s1"), b'{"by hand":1}', keepttl=True)
    assert not store.save("s1", b'{"mine":3}', 3, 2, summary_of({}, 10))
    assert store.load("s1") == (b'{"by hand":1}', 2)
    assert store.touch("s1") == (2, 13) and store.save("s1", b'{"mine":3}', 3, 2, summary_of({}, 10))
    assert store.load("s1") == (b'{"mine":3}', 3)


def test_a_new_sessions_save_never_writes_over_a_stored_one(store, redis_server):
    """A save expecting nothing stored, with no touch before it, is one round trip (SET NX): a document met
    there after all is never written over; the save says another writer was first, as a merge needs."""
    raw = put(store, "s1")
    client = redis_server.client(1)
    assert not store.save("s1", b'{"new":1}', 1, 0, summary_of({}, 9))  # version 1 is there: another writer's
    assert store.load("s1") == (raw, 1)
    client.delete(meta_key("s1"))  # a document without its meta (evicted, say)
    assert not store.save("s1", b'{"new":1}', 1, 0, summary_of({}, 9))
    assert store.load("s1") == (raw, 1)  # kept; its meta numbers it 1, the version a merge builds on
    assert store.save("s1", b'{"merged":2}', 2, 1, summary_of({}, 12))
    assert store.load("s1") == (b'{"merged":2}', 2) and client.ttl(meta_key("s1")) > 0


def test_a_directory_lists_its_own_sessions_without_reading_the_others(store, redis_server):
    for i in range(3):
        put(store, f"here-{i}", "/here")
    for i in range(200):
        put(store, f"there-{i}", f"/there/{i % 7}")
    client = redis_server.client(1)
    client.config_resetstat()
    page = store.listing("/here", 20)
    assert [row.id for row in page.rows] == ["here-2", "here-1", "here-0"] and page.more == 0
    assert all(row.summary.cwd == "/here" and row.summary.messages == 1 for row in page.rows)
    stats = client.info("commandstats")
    assert stats["cmdstat_hget"]["calls"] == 3 and stats["cmdstat_ttl"]["calls"] == 3  # O(sessions of /here)
    assert not {"cmdstat_scan", "cmdstat_keys", "cmdstat_eval", "cmdstat_zscan"} & set(stats)


def test_listing_prunes_vanished_sessions_and_pages_through_all(store, redis_server):
    for i in range(1100):
        put(store, f"s-{i:04d}", "/p")
    client = redis_server.client(1)
    for i in range(0, 1100, 10):  # evicted or flushed behind our back
        client.delete(document_key(f"s-{i:04d}"), meta_key(f"s-{i:04d}"))
    for directory, index in ((None, INDEX), ("/p", directory_key("/p"))):
        seen, more = [], None
        while more != 0:
            page = store.listing(directory, 300, len(seen))
            seen += [row.id for row in page.rows]
            more = page.more
        assert len(seen) == len(set(seen)) == 990 and not any(s.endswith("0") for s in seen)
        assert client.zcard(index) == 990  # ghosts pruned as they were met
    assert store.listing("/p", 5).more == 985


def test_names_belong_to_one_live_session_even_under_a_race(store, redis_server):
    for i in range(8):
        put(store, f"s{i}")
    winners = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        mine = RedisStore(store.target, TTL)
        barrier.wait()
        if mine.claim_name(f"s{i}", "shared", "") is None:
            winners.append(f"s{i}")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and store.named("shared") == winners[0]
    assert store.claim_name("s0" if winners[0] != "s0" else "s1", "shared", "") == winners[0]
    redis_server.client(1).delete(document_key(winners[0]))  # its session vanished: the name is free again
    assert store.named("shared") is None
    heir = next(f"s{i}" for i in range(8) if f"s{i}" != winners[0])
    assert store.claim_name(heir, "shared", "") is None and store.resolve("shared") == [heir]
    assert store.claim_name(heir, "renamed", "shared") is None and store.named("shared") is None


def test_resolve_by_id_prefix_and_glob_characters(store):
    put(store, "session-20261202-010101-aaaa")
    put(store, "session-20261202-010101-aaab")
    assert store.resolve("session-20261202-010101-aaab") == ["session-20261202-010101-aaab"]
    assert sorted(store.resolve("session-20261202-010101-aa")) == [
        "session-20261202-010101-aaaa",
        "session-20261202-010101-aaab",
    ]
    assert store.resolve("session-2026*") == [] and store.resolve("[s]ession") == []


def test_every_key_expires_and_a_session_takes_about_its_json_length(store, redis_server):
    raw = put(store, "big", "/p", name="big", size=300_000)
    store.claim_name("big", "big", "")
    store.quarantine(put(store, "bad") and "bad")
    client = redis_server.client(1)
    assert all(client.ttl(key) > 0 for key in client.keys("*")), {k: client.ttl(k) for k in client.keys("*")}
    assert client.memory_usage(document_key("big")) <= 1.2 * len(raw)
    assert client.get(document_key("big")) == raw  # redis-cli GET shows the readable document
    assert client.ttl(document_key("big")) == TTL and client.ttl(directory_key("/p")) >= TTL


def test_expiring_names_sessions_close_to_their_end(store, redis_server):
    put(store, "soon")
    put(store, "later")
    redis_server.client(1).expire(document_key("soon"), 100)
    redis_server.client(1).zadd(INDEX, {"soon": 0})  # its index entry says so too
    assert store.expiring(600) == [("soon", 1)]
