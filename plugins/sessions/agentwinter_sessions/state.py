"""The current session of one run, in memory: what it is, what the store holds of it, what is not saved."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agentwinter_core.api import Conversation, Usage


@dataclass
class SessionState:
    id: str | None = None  # None until the first save (or a resume) makes the session exist
    version: int = 0  # the stored version this conversation builds on (0: none)
    length: int = 0  # bytes of our last stored value: another length at the same version is an outside write
    name: str = ""
    created: float = field(default_factory=time.time)
    owner: str = ""
    usage: Usage = field(default_factory=Usage)
    conversation: Conversation = field(default_factory=Conversation)  # the core forgets it between queries
    base_len: int = 0  # messages before the current query
    unsaved: int = 0  # queries in memory that the store does not have yet
    dirty: bool = False  # memory holds something the store lacks (a query, or the store lost the session)
    problem: str = ""  # why the last save failed
    announced: bool = False  # the resume was announced already (--resume, !resume, ...)
    note: str = ""  # told to the model with the next query (files changed since the session was saved)
    warned_long: bool = False

    @classmethod
    def of(cls, document: dict[str, Any], version: int, length: int) -> SessionState:
        """The state of a stored (decoded) document."""
        return cls(
            id=document["id"],
            version=version,
            length=length,
            name=document.get("name") or "",
            created=float(document.get("created") or time.time()),
            owner=document.get("owner") or "",
            usage=Usage.from_api(document["usage"]),
            conversation=Conversation(document["messages"], document["metadata"]),
        )

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.conversation.messages
