"""Bad values for every key the sessions plugin keeps, and the ways a test or the stress runner meets them."""

from __future__ import annotations

from agentwinter_sessions import switching, tracker
from agentwinter_sessions.redis_store import INDEX, NAMES, directory_key, document_key, meta_key

from agentwinter_core.state import UsageError
from tests.helpers.app import invoke, make_app

# name -> (key family, how to damage it). Families: doc, meta, index, dir, names.
KINDS = {
    "not JSON": ("doc", {"set": b"{not json"}),
    "truncated": ("doc", "truncate"),
    "a JSON list": ("doc", {"set": b"[1, 2]"}),
    "a JSON number": ("doc", {"set": b"42"}),
    "a newer format": ("doc", {"set": b'{"format": 99, "id": "x", "messages": []}'}),
    "no format": ("doc", {"set": b'{"id": "x", "messages": []}'}),
    "messages not a list": ("doc", {"set": b'{"format": 1, "id": "x", "messages": 5}'}),
    "messages of numbers": ("doc", {"set": b'{"format": 1, "id": "x", "messages": [1, 2]}'}),
    "no id": ("doc", {"set": b'{"format": 1, "messages": []}'}),
    "binary garbage": ("doc", {"set": b"\xff\xfe\x00garbage\x80"}),
    "a hash for the document": ("doc", {"hset": {"a": "b"}}),
    "a list for the document": ("doc", {"rpush": ["a", "b"]}),
    "a string for the meta": ("meta", {"set": b"meta"}),
    "a version that is no number": ("meta", {"hset": {"version": "abc"}}),
    "a summary that is no JSON": ("meta", {"hset": {"summary": "{nope"}}),
    "a string for the index": ("index", {"set": b"index"}),
    "a hash for the directory index": ("dir", {"hset": {"a": "b"}}),
    "a list for the names": ("names", {"rpush": ["a"]}),
    "junk ids in the index": ("index", {"zadd": {"not-a-session": 1e12, "../x": 1e12}}),
}
DERIVED = ("a summary that is no JSON", "junk ids in the index")  # rewritten by the next save, pruned when met


def key_of(family: str, session_id: str, cwd: str) -> str:
    return {
        "doc": document_key(session_id),
        "meta": meta_key(session_id),
        "index": INDEX,
        "dir": directory_key(cwd),
        "names": NAMES,
    }[family]


def damage(client, key: str, how) -> None:
    if how == "truncate":
        raw = client.get(key)
        client.set(key, raw[: len(raw) // 2], keepttl=True)
        return
    ((verb, value),) = how.items()
    if verb == "hset" and client.type(key) == b"hash":
        client.hset(key, mapping=value)
        return
    client.delete(key)
    {
        "set": lambda: client.set(key, value),
        "hset": lambda: client.hset(key, mapping=value),
        "rpush": lambda: client.rpush(key, *value),
        "zadd": lambda: client.zadd(key, value),
    }[verb]()


def sessions(*args: str):
    """``agentwinter sessions ARGS`` in this process."""
    return invoke(["sessions", *args], disabled=frozenset({"cleanup"}))


def one_line_at_most(text: str) -> None:
    assert "Traceback" not in text and "failed in" not in text, text
    assert sum(line.startswith("error:") for line in text.splitlines()) <= 1, text


def opened_in_another_terminal(env, **options):
    """A second terminal started with these options: the line it stopped with ('' for none), and its app."""
    other, _ = make_app(env)
    try:
        switching.start(tracker(other), options)
        tracker(other).tell_notices()
    except UsageError as exc:
        return str(exc), other
    return "", other
