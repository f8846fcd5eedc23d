"""What the sessions plugin needs from a place to keep sessions: a small interface and its data.

``RedisStore`` (redis_store.py) is the implementation; a test double or a third-party backend implements
the same methods. Every method may raise ``failures.StoreError`` (one line, for the person) and, where it
reads a stored value, ``failures.Corrupt``, or ``failures.Locked`` (a StoreError) for a value encrypted
with a key this run does not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


def owned_by(session_owner: str, owner: str) -> bool:
    """Whether ``owner`` may treat a session of ``session_owner`` as theirs: it is theirs, or it has no owner
    (saved before owners were recorded)."""
    return session_owner in ("", owner)


@dataclass(frozen=True)
class Summary:
    """What a listing shows of a session without loading it (kept beside the document)."""

    name: str = ""
    messages: int = 0
    first_query: str = ""
    created: float = 0.0
    updated: float = 0.0
    cwd: str = ""
    bytes: int = 0
    owner: str = ""  # "user@host" of who keeps it; "" in sessions saved before owners (anyone's: see owned_by)
    repository: str = ""  # workspace.identity() of where it was saved; "" in sessions saved before it existed

    @property
    def place(self) -> str:
        """What "this directory" matches: the repository identity, else (an older session) the directory."""
        return self.repository or self.cwd

    def owned_by(self, owner: str) -> bool:
        return owned_by(self.owner, owner)

    @classmethod
    def of(cls, data: Any) -> Summary:
        """From stored JSON; unknown or mistyped fields fall back to their defaults."""
        if not isinstance(data, dict):
            return cls()
        values = {}
        for name, default in cls().__dict__.items():
            value = data.get(name, default)
            values[name] = (
                value
                if isinstance(value, type(default)) or (isinstance(default, float) and isinstance(value, int))
                else default
            )
        return cls(**values)


@dataclass(frozen=True)
class Row:
    id: str
    ttl: int  # seconds left
    summary: Summary


@dataclass
class Page:
    rows: list[Row] = field(default_factory=list)
    more: int = 0  # sessions after this page


class SessionStore(Protocol):
    ttl: int  # seconds a session lives after its last touch or save

    def load(self, session_id: str) -> tuple[bytes, int] | None:
        """The stored document and its version; None when there is no such session (any more)."""

    def save(self, session_id: str, raw: bytes, version: int, expected: int | None, summary: Summary) -> bool:
        """Store ``raw`` as ``version`` if the stored version is ``expected`` or nothing is stored (``expected``
        None: whatever is stored); False when another writer stored another version first."""

    def touch(self, session_id: str) -> tuple[int, int] | None:
        """Slide the TTL; the stored (version, length in bytes), or None when the session is gone."""

    def delete(self, session_id: str) -> bool:
        """Remove a session; False when there was none."""

    def quarantine(self, session_id: str) -> str:
        """Move an unusable stored value aside, never deleting it; where it went."""

    def listing(self, directory: str | None, limit: int, offset: int = 0, owner: str | None = None) -> Page:
        """Sessions, most recent first: of one place (``Summary.place``: a repository identity, or the directory
        of a session that has none), or of all (None); of one owner (``Summary.owned_by``) or of everyone
        (None); prunes entries of gone ones."""

    def resolve(self, ref: str, owner: str = "", everyone: bool = True) -> list[str]:
        """Ids of live sessions that ``ref`` names: one of ``owner``'s names, an id, or an id prefix of
        ``owner``'s sessions (of anyone's with ``everyone``); several: ambiguous."""

    def named(self, name: str, owner: str = "") -> str | None:
        """The live session that has this name among ``owner``'s names ("": the names of unowned sessions)."""

    def vanished(self, ref: str, owner: str = "") -> str | None:
        """The id of a session that ``ref`` (one of ``owner``'s names, or an id) named but that is gone
        (expired, evicted, flushed); its index entries are pruned. None when ``ref`` names a live session or
        nothing known."""

    def claim_name(self, session_id: str, name: str, old: str, owner: str = "") -> str | None:
        """Give the session ``name`` among ``owner``'s names (dropping ``old``); the id of another live session
        that has it."""

    def expiring(self, within: int, owner: str | None = None) -> list[tuple[str, int]]:
        """(id, version) of the sessions (of ``owner``, or of everyone: None) that expire within ``within``
        seconds."""

    def notices(self) -> list[str]:
        """One line for each stored value set aside since the last call (an index or a companion key that
        held the wrong kind of value, moved to a quarantine key so the store could go on)."""

    def evicting(self) -> str | None:
        """The server's eviction policy when it may evict sessions before they expire, else None."""

    def figures(self, session_id: str) -> dict[str, Any]:
        """Facts for ``!cache``: server, version, topology, this session's size, eviction policy, latency."""
