"""Conditions the sessions plugin handles across modules."""

from __future__ import annotations


class Offline(Exception):
    """Redis did not answer; already reported to the person (the session goes on in memory)."""
