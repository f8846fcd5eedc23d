"""Every Redis failure as one line that names its cause and the setting to fix.

The store turns any exception from redis-py (or the socket under it) into ``StoreError``; the rest of the
plugin catches only that, so no outage, denial or misconfiguration reaches the person as a traceback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from agentwinter_core.api import redact

F = TypeVar("F", bound=Callable[..., Any])


class StoreError(Exception):
    """The store could not do what was asked; ``str()`` is the one-line cause (no password in it)."""


class Locked(StoreError):
    """A stored value sealed with a key this run does not have (sealing.py): never set aside, never saved over."""


class Corrupt(Exception):
    """A stored value this version cannot use; the message says why in one line."""


def cause(exc: BaseException, where: str) -> str:
    """One line for a failure talking to the Redis at ``where`` (already redacted)."""
    import redis
    from redis import exceptions as e

    text = _first_line(exc).removeprefix("Transaction discarded because of: ")  # an EXEC refused: say why
    if isinstance(exc, e.AuthenticationError) or re.search(r"WRONGPASS|NOAUTH|invalid username-password", text):
        return f"authentication to Redis at {where} failed ({text}): check the username and password in redis_url"
    if "SSL" in text or "TLS" in text or "certificate" in text.lower():
        return f"TLS error talking to Redis at {where} ({_ssl_reason(text)}): check tls_ca_file / ssl_ca_certs"
    if isinstance(exc, e.NoPermissionError) or text.startswith("NOPERM"):
        command = re.search(r"run the '([^']+)' command", text)
        if command is None and "keys" in text:  # a key outside the user's key pattern
            return (
                f"Redis at {where} denied a key by ACL ({text}): the ACL user's key pattern must cover "
                "[sessions] key_prefix (~PREFIX:*, see the sessions README)"
            )
        what = f"command {command.group(1).upper()}" if command else "a command"
        return f"Redis at {where} denied {what} by ACL ({text}): grant the rules in the sessions README"
    if isinstance(exc, e.OutOfMemoryError) or text.startswith("OOM"):
        return f"Redis at {where} is out of memory (maxmemory reached, noeviction): free memory or raise maxmemory"
    if isinstance(exc, e.ReadOnlyError) or text.startswith("READONLY") or "master is now a slave" in text:
        return f"Redis at {where} is a read-only replica: point redis_url at the primary, or use redis+sentinel://"
    if "cluster mode" in text or isinstance(exc, (e.MovedError, e.ClusterCrossSlotError)):
        return f"Redis at {where} is a cluster node: set redis_url = redis+cluster://HOST:PORT (cluster: db 0 only)"
    if isinstance(exc, (e.ClusterError, e.RedisClusterException)):
        return f"Redis Cluster at {where} is not usable ({text}): check that every slot is served (cluster_state:ok)"
    if type(exc).__name__ in ("MasterNotFoundError", "SlaveNotFoundError"):
        return f"no Sentinel at {where} names a primary ({text}): check the sentinel addresses and the service name"
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError)):
        return f"Redis at {where} is unreachable ({text or type(exc).__name__})"
    return f"Redis at {where} failed: {type(exc).__name__}: {text}"


def translated(where: Callable[[Any], str]) -> Callable[[F], F]:
    """A store method whose failures become ``StoreError`` (``where(self)``: the redacted address)."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (StoreError, Corrupt):
                raise
            except Exception as exc:
                if not _from_redis(exc):
                    raise
                raise StoreError(cause(exc, where(self))) from exc

        return run  # type: ignore[return-value]

    return decorate


def _from_redis(exc: Exception) -> bool:
    import redis

    return isinstance(exc, (redis.RedisError, OSError)) or type(exc).__module__.startswith("redis")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0]) if text else ""  # a redis-py message may hold a URL, or a password from the env


def _ssl_reason(text: str) -> str:
    found = re.search(r"\[SSL[^\]]*\]\s*([^()]+?)(?:\s*\(|$)", text) or re.search(r"(certificate[^.;)]*)", text)
    return found.group(1).strip() if found else text
