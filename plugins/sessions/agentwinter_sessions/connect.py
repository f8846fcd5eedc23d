"""Where the sessions live: a Redis URL and ``[sessions]`` keys → one checked ``Target`` → a redis-py client.

Checked at start-up, before the first query, without importing redis-py: a typo in the URL is one line
then, not a ``TypeError`` from deep inside a connection later. Forms:

- ``redis://[user:password@]host[:port][/db]`` and ``rediss://`` (TLS), ``unix:///path/redis.sock?db=1``;
- ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]`` (or ``rediss+sentinel://``);
- ``redis+cluster://[user:password@]host:port[,host:port...]`` (a cluster has only db 0: there the
  ``agentwinter:`` key prefix is what keeps sessions apart from other data).

The same can be said with ``[sessions]`` keys (``sentinels``, ``sentinel_service``, ``cluster``, ``tls_*``,
``username``, ``password``); what the URL itself says wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from agentwinter_core.api import UsageError
from agentwinter_core.api import redact_url as redact

DEFAULT_URL = "redis://localhost:6379/1"
PARAMETERS = ("db", "username", "password", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
VERIFY = ("required", "optional", "none")
SCHEMES = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("unix", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
# A CLI must fail fast when Redis is down, not hang; from_url-style clients get no retries unless asked.
CONNECT_TIMEOUT, COMMAND_TIMEOUT = 0.5, 2.0


class ConfigError(UsageError):
    """The Redis settings cannot work as written; the message names the setting to fix."""


@dataclass(frozen=True)
class Target:
    kind: str  # single, unix, sentinel or cluster
    hosts: tuple[tuple[str, int], ...] = ()
    path: str = ""  # the unix socket
    db: int = 1
    service: str = ""  # the sentinel's name for the primary
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: str = "required"
    shown: str = ""  # for messages: the URL with any password replaced

    def __str__(self) -> str:
        return self.shown


def target(url: str | None, table: dict[str, Any]) -> Target:
    """The checked target; ConfigError naming the setting when it cannot work."""
    url = url or DEFAULT_URL
    shown = redact(url)
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        known = ", ".join(f"{scheme}://" for scheme in SCHEMES)
        raise ConfigError(f"redis_url {shown}: unknown scheme {parts.scheme!r} ({known})")
    kind, tls = SCHEMES[parts.scheme]
    query = _query(parts.query, shown)
    values: dict[str, Any] = {"kind": kind, "tls": tls or bool(table.get("tls_ca_file")), "shown": shown}
    values["username"] = (
        unquote(parts.username) if parts.username else query.get("username") or _text(table, "username")
    )
    values["password"] = (
        unquote(parts.password)
        if parts.password
        else query.get("password") or os.environ.get("AGENTWINTER_REDIS_PASSWORD") or _text(table, "password")
    )
    values.update(_tls(query, table, shown))
    path = [segment for segment in parts.path.split("/") if segment]
    if kind == "unix":
        values["path"] = parts.path
        values["db"] = _db(query.get("db", "1"), shown)
    elif kind == "sentinel" or table.get("sentinels"):
        values.update(_sentinel(parts.netloc, path, query, table, shown))
    elif kind == "cluster" or _flag(table, "cluster"):
        values.update(kind="cluster", hosts=_hosts(parts.netloc, shown), db=0)
        if _db(query.get("db", path[0] if path else "0"), shown) != 0:
            raise ConfigError(f"redis_url {shown}: a Redis Cluster has only db 0 (the agentwinter: prefix isolates)")
    else:
        values["hosts"] = _hosts(parts.netloc, shown)[:1]
        values["db"] = _db(query.get("db", path[0] if path else "1"), shown)
    return Target(**values)


def _query(raw: str, shown: str) -> dict[str, str]:
    query = dict(parse_qsl(raw, keep_blank_values=True))
    for name in query:
        if name not in PARAMETERS:
            import difflib  # only for the mistake

            close = difflib.get_close_matches(name, PARAMETERS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(PARAMETERS)}"
            raise ConfigError(f"redis_url {shown}: unknown parameter {name!r} ({hint})")
    return query


def _text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"[sessions] {key} must be a string, not {value!r}")
    return value


def _flag(table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"[sessions] {key} must be true or false, not {value!r}")
    return value


def _tls(query: dict[str, str], table: dict[str, Any], shown: str) -> dict[str, Any]:
    values = {
        "ca_file": query.get("ssl_ca_certs") or _text(table, "tls_ca_file"),
        "cert_file": query.get("ssl_certfile") or _text(table, "tls_cert_file"),
        "key_file": query.get("ssl_keyfile") or _text(table, "tls_key_file"),
        "verify": query.get("ssl_cert_reqs") or _text(table, "tls_verify") or "required",
    }
    if values["verify"] not in VERIFY:
        raise ConfigError(f"redis_url {shown}: TLS verify mode {values['verify']!r} is not one of {', '.join(VERIFY)}")
    for key in ("ca_file", "cert_file", "key_file"):
        if values[key] and not os.path.isfile(os.path.expanduser(values[key])):
            raise ConfigError(f"redis_url {shown}: TLS {key.replace('_', ' ')} {values[key]} does not exist")
    if bool(values["cert_file"]) != bool(values["key_file"]):
        raise ConfigError(f"redis_url {shown}: a TLS client certificate needs both cert and key files")
    return values


def _sentinel(netloc: str, path: list[str], query: dict[str, str], table: dict[str, Any], shown: str) -> dict[str, Any]:
    configured = table.get("sentinels")
    if configured is None:  # redis+sentinel://HOST:PORT[,HOST:PORT]/SERVICE[/DB]
        hosts, service, db = _hosts(netloc, shown, 26379), path[0] if path else "", path[1] if len(path) > 1 else "1"
    else:  # [sessions] sentinels + sentinel_service; the URL gives credentials and the db
        if not isinstance(configured, list) or not configured or not all(isinstance(i, str) for i in configured):
            raise ConfigError(f'[sessions] sentinels must be a list of "host:port" strings, not {configured!r}')
        hosts, service, db = _hosts(",".join(configured), shown, 26379), "", path[0] if path else "1"
    service = _text(table, "sentinel_service") or service
    if not service:
        raise ConfigError(
            f"redis_url {shown}: Sentinel needs the service name (redis+sentinel://HOST:PORT/SERVICE/1 "
            "or [sessions] sentinel_service)"
        )
    return {"kind": "sentinel", "hosts": hosts, "service": service, "db": _db(query.get("db", db), shown)}


def _hosts(netloc: str, shown: str, default_port: int = 6379) -> tuple[tuple[str, int], ...]:
    hosts = []
    for item in netloc.rpartition("@")[2].split(","):
        host, _, port = item.strip().rpartition(":") if item.count(":") == 1 or item.endswith("]") else ("", "", "")
        host, port = (host, port) if host else (item.strip(), "")
        try:
            number = int(port) if port else default_port
        except ValueError:
            raise ConfigError(f"redis_url {shown}: port {port!r} is not a number") from None
        hosts.append((host.strip("[]") or "localhost", number))
    return tuple(hosts)


def _db(value: str, shown: str) -> int:
    if not value.isdigit():
        raise ConfigError(f"redis_url {shown}: db {value!r} is not a whole number")
    return int(value)


def client(where: Target) -> Any:
    """A redis-py client for the target (cluster: ``RedisCluster``; sentinel: the current primary's)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    common: dict[str, Any] = {
        "username": where.username,
        "password": where.password,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "protocol": 2,  # redis-py 8 defaults to RESP3, which Redis < 6 refuses
    }
    if where.tls:
        common.update(
            ssl=True,
            ssl_ca_certs=where.ca_file and os.path.expanduser(where.ca_file),
            ssl_certfile=where.cert_file and os.path.expanduser(where.cert_file),
            ssl_keyfile=where.key_file and os.path.expanduser(where.key_file),
            ssl_cert_reqs=where.verify,
            ssl_check_hostname=where.verify == "required",
        )
    if where.kind == "unix":
        return redis.Redis(unix_socket_path=where.path, db=where.db, **common)
    if where.kind == "cluster":
        from redis.cluster import ClusterNode, RedisCluster

        common.pop("retry_on_error")  # RedisCluster retries on its own terms (it takes no such argument)
        nodes = [ClusterNode(host, port) for host, port in where.hosts]
        return RedisCluster(startup_nodes=nodes, require_full_coverage=True, **common)
    if where.kind == "sentinel":
        from redis.sentinel import Sentinel

        watchers = {key: common[key] for key in ("socket_connect_timeout", "socket_timeout", "protocol")}
        sentinel = Sentinel(list(where.hosts), sentinel_kwargs=watchers, **common)
        return sentinel.master_for(where.service, db=where.db)
    host, port = where.hosts[0]
    return redis.Redis(host=host, port=port, db=where.db, **common)
