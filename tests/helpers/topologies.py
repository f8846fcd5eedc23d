"""Real Redis deployments on loopback for tests: a 3-master Cluster, primary + replica + Sentinel, TLS, ACL users.

Every process listens on a free loopback port and is stopped by its pid at exit; temp dirs are removed.
Start-up waits on the servers' own state (INFO, CLUSTER INFO, SENTINEL ...) against a deadline, never a fixed sleep.
"""

from __future__ import annotations

import random
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.helpers.redis_server import RedisServer

HOST = "127.0.0.1"
POLL = 0.02  # seconds between two looks at a server's state


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; Redis errors while a server settles count as "not yet"."""
    import redis

    deadline = time.monotonic() + seconds
    while True:  # at least one look, even with no time left
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out after {seconds:.1f} s waiting for {what}")
        time.sleep(POLL)


def no_retry() -> Any:
    """Tests and helpers must see an error at once, not after redis-py's backoff."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def plain_client(port: int, **kwargs: Any) -> Any:
    """A db-0 client on `port` without retries."""
    import redis

    return redis.Redis(host=HOST, port=port, socket_timeout=5, retry=no_retry(), **kwargs)


def info(port: int, section: str) -> dict[str, Any]:
    with plain_client(port) as client:
        return client.info(section)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free too.

    Both are picked below the kernel's ephemeral range (32768+), so an outgoing connection cannot grab either
    between this check and the server's bind.
    """
    for _ in range(200):
        port = random.randrange(10000, 22768)
        if port not in taken and port + 10000 not in taken and port_is_free(port) and port_is_free(port + 10000):
            return port
    raise RuntimeError("no free pair of ports (P, P + 10000) for a cluster node")


def terminate_together(servers: list[RedisServer]) -> None:
    """SIGTERM every server first, so their ~0.1 s shutdowns overlap; each `stop()` then only waits for its pid."""
    for server in servers:
        if server.process and server.process.poll() is None:
            server.process.terminate()


def acl_user(client: Any, name: str, password: str, rules: list[str]) -> None:
    """Create (or redefine) ACL user `name`: enabled, `password`, and exactly `rules` — nothing kept from before."""
    client.execute_command("ACL", "SETUSER", name, "reset", "on", f">{password}", *rules)


class Cluster:
    """A Redis Cluster of `masters` masters (no replicas), made by `redis-cli --cluster create`.

    Ready when every node reports `cluster_state:ok` and all nodes report the same slot map: 2.1 s measured.
    The floor is a master's 2 s "writable delay" from its start (redis-cli's own 1 s join wait overlaps it).
    Nodes start with `--cluster-node-timeout 500`: nodes gossip every node-timeout/2, so the join converges
    within redis-cli's first 1 s check (with 2000 ms the start took 2.1-6.1 s). Once ready the timeout is raised to
    `node_timeout_ms` (CONFIG SET) so a busy node (a long script, a loaded machine) is not marked failed.
    `.nodes` [(host, port)], `.ports`, `client()` -> `redis.RedisCluster` without retries.
    Each node's bus port (port + 10000) must be free too: both are picked below the ephemeral port range.
    """

    JOIN_NODE_TIMEOUT_MS = 500

    def __init__(self, masters: int = 3, node_timeout_ms: int = 5000) -> None:
        self.masters = masters
        self.node_timeout_ms = node_timeout_ms
        self.servers: list[RedisServer] = []
        self._stack = ExitStack()

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    @property
    def nodes(self) -> list[tuple[str, int]]:
        return [(HOST, port) for port in self.ports]

    def client(self, **kwargs: Any) -> Any:
        import redis

        return redis.RedisCluster(host=HOST, port=self.ports[0], socket_timeout=5, retry=no_retry(), **kwargs)

    def slot_map(self, port: int) -> list[tuple[int, int, int]]:
        """(first slot, last slot, master port) as node `port` sees them."""
        with plain_client(port) as client:
            ranges = client.execute_command("CLUSTER SLOTS")
        return sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in ranges)

    def _ready(self) -> bool:
        for port in self.ports:
            with plain_client(port, decode_responses=True) as client:
                state = client.execute_command("CLUSTER INFO")
            if state.get("cluster_state") != "ok" or str(state.get("cluster_slots_assigned")) != "16384":
                return False
        maps = [self.slot_map(port) for port in self.ports]
        return all(m == maps[0] for m in maps) and {m[2] for m in maps[0]} == set(self.ports)

    def __enter__(self) -> Cluster:
        with self._stack:
            taken: set[int] = set()
            for _ in range(self.masters):
                port = cluster_port(taken)
                taken |= {port, port + 10000}
                server = RedisServer(port=port)
                server.extra += [
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(server.dir / "nodes.conf"),
                    "--cluster-node-timeout", str(self.JOIN_NODE_TIMEOUT_MS),
                ]  # fmt: skip
                self.servers.append(self._stack.enter_context(server))
            self._stack.callback(terminate_together, self.servers)
            addresses = [f"{host}:{port}" for host, port in self.nodes]
            create = subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if create.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {(create.stdout + create.stderr)[-2000:]}")
            wait_for(self._ready, 20, f"cluster {self.ports} to report cluster_state:ok with one slot map")
            for port in self.ports:
                with plain_client(port) as client:
                    client.config_set("cluster-node-timeout", self.node_timeout_ms)
            self._stack = self._stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


class SentinelServer(RedisServer):
    """`redis-server sentinel.conf --sentinel` watching one primary under the name `service`."""

    def __init__(self, service: str, primary_port: int, down_after_ms: int, failover_timeout_ms: int) -> None:
        super().__init__()
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text(  # the sentinel rewrites this file: it must be its own and writable
            f"sentinel monitor {service} {HOST} {primary_port} 1\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} {failover_timeout_ms}\n"
        )

    def server_args(self) -> list[str]:
        # No --enable-debug-command and no persistence flags: a sentinel has neither.
        return ["redis-server", str(self.conf), "--sentinel", *self.listen_args(), "--dir", str(self.dir), *self.extra]


class SentinelSet:
    """A primary, one replica (`--replicaof`) and one sentinel monitoring them as `service`.

    Ready in ~0.15 s (0.8 s on a cold first run) when the replica's link is up and the sentinel lists it as a
    healthy replica (before that `SENTINEL FAILOVER` answers NOGOODSLAVE). Both data servers run
    `--repl-diskless-sync-delay 0`: a replica syncs in milliseconds instead of 5 s, at start and after a failover.

    `failover()` sends `SENTINEL FAILOVER` and returns once the sentinel reports the new primary (both
    GET-MASTER-ADDR-BY-NAME and SENTINEL MASTER, which redis-py reads and which lags ~0.1 s behind), that server
    says `role:master`, and the old primary says `role:slave` with `master_link_status:up`. Measured: 1.1-1.2 s.
    The sentinel promotes the replica in ~0.2 s and confirms it on its next INFO of it (once per second during a
    failover), but demotes the old primary only ~10 s later (a hard-coded wait of 4 x its 2 s publish period,
    then its next INFO poll). So by default (`demote=True`) the helper sends the old primary what the sentinel
    sends then: `REPLICAOF <new primary>` and `CLIENT KILL TYPE normal`. `demote=False` leaves it to the
    sentinel: 11.3 s. Until the demotion the old primary still accepts writes from clients that stay connected
    to it, and it drops them when it resyncs from the new primary.

    Client configuration: `Sentinel(set.sentinels, socket_timeout=...).master_for(set.service, ...)` needs no
    retry policy to write after `failover()`: the killed connection is replaced at the next checkout, which asks
    the sentinel again. A retry policy does not rescue a command that reaches a demoted primary over a
    connection that was not killed: redis-py turns its READONLY into `ConnectionError("The previous master is
    now a slave")`, but its retry reconnects that connection to the same old address (redis-py 8.1 retries
    through the plain connect, not the sentinel lookup; cf. redis-py issue #3560), so even `retry=Retry(NoBackoff(),
    1)` fails; only the next command, on a fresh checkout, reaches the new primary. Re-issue such a command.
    """

    def __init__(self, service: str = "agentwinter", down_after_ms: int = 1000, failover_timeout_ms: int = 5000):
        self.service = service
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self._stack = ExitStack()

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [(HOST, self.sentinel.port)]

    def sentinel_client(self) -> Any:
        return plain_client(self.sentinel.port, decode_responses=True)

    def primary(self) -> tuple[str, int]:
        """The current primary as the sentinel reports it."""
        with self.sentinel_client() as client:
            host, port = client.sentinel_get_master_addr_by_name(self.service)
        return host, int(port)

    def _replica_known(self, port: int) -> bool:
        """The sentinel lists `port` as a reachable replica with its link to the primary up."""
        with self.sentinel_client() as client:
            replicas = client.sentinel_slaves(self.service)
        return any(
            int(r["port"]) == port and r["is_slave"] and not (r["is_sdown"] or r["is_disconnected"])
            and r["master-link-status"] == "ok"
            for r in replicas
        )  # fmt: skip

    def __enter__(self) -> SentinelSet:
        with self._stack:
            sync = ("--repl-diskless-sync-delay", "0")
            self.primary_server = self._stack.enter_context(RedisServer(extra=sync))
            self.primary_port = self.primary_server.port
            self.replica_server = self._stack.enter_context(
                RedisServer(extra=(*sync, "--replicaof", HOST, str(self.primary_port)))
            )
            self.replica_port = self.replica_server.port
            wait_for(lambda: self._linked(self.replica_port, self.primary_port), 10, "the replica's first sync")
            self.sentinel = self._stack.enter_context(
                SentinelServer(self.service, self.primary_port, self.down_after_ms, self.failover_timeout_ms)
            )
            self._stack.callback(terminate_together, [self.sentinel, self.replica_server, self.primary_server])
            wait_for(lambda: self._replica_known(self.replica_port), 10, "the sentinel to discover the replica")
            self._stack = self._stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _failover_done(self, new: tuple[str, int]) -> bool:
        """SENTINEL MASTER (what redis-py's master_for reads) shows `new`, failover over: ~0.1 s after the address."""
        with self.sentinel_client() as client:
            state = client.sentinel_master(self.service)
        return (state["ip"], int(state["port"])) == new and "failover_in_progress" not in state["flags"]

    @staticmethod
    def _linked(replica: int, primary: int) -> bool:
        state = info(replica, "replication")
        return state["role"] == "slave" and int(state["master_port"]) == primary and state["master_link_status"] == "up"

    def failover(self, seconds: float = 30, demote: bool = True) -> tuple[str, int]:
        """Swap primary and replica through the sentinel; returns the new primary (host, port)."""
        import redis

        old = self.primary()
        deadline = time.monotonic() + seconds

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        with self.sentinel_client() as sentinel:
            while True:  # NOGOODSLAVE / INPROG: the sentinel is not ready yet (e.g. right after a failover)
                try:
                    sentinel.sentinel_failover(self.service)
                    break
                except redis.ResponseError as error:
                    if not left():
                        message = f"SENTINEL FAILOVER {self.service} refused for {seconds:g} s: {error}"
                        raise RuntimeError(message) from None
                    time.sleep(POLL)
        wait_for(lambda: self.primary() != old, left(), f"the sentinel to name a new primary instead of {old}")
        new = self.primary()
        wait_for(lambda: self._failover_done(new), left(), f"the sentinel to end its failover to {new}")
        wait_for(lambda: info(new[1], "replication")["role"] == "master", left(), f"{new} to report role:master")
        if demote:
            with plain_client(old[1]) as client:
                client.replicaof(*new)
                client.client_kill_filter(_type="normal")
        wait_for(lambda: self._linked(old[1], new[1]), left(), f"old primary {old} to replicate from {new}")
        return new


class TlsServer(RedisServer):
    """A Redis speaking TLS only (`--port 0 --tls-port P`), with a CA, server and client certs made by openssl.

    `mutual=True` sets `--tls-auth-clients yes` (a client certificate is required), else `optional`.
    `.port`, `.ca_file`, `.client_cert`, `.client_key`, `url(db)`, `client(db)`.
    Debian's redis-server 7.0 is built with TLS (it links libssl.so.3).
    """

    def __init__(self, mutual: bool = False, extra: tuple[str, ...] = ()) -> None:
        super().__init__(extra=extra)
        self.mutual = mutual
        self.ca_file = self.dir / "ca.crt"
        self.server_cert, self.server_key = self.dir / "server.crt", self.dir / "server.key"
        self.client_cert, self.client_key = self.dir / "client.crt", self.dir / "client.key"

    def _certificate(self, cert: Path, key: Path, subject: str, *extensions: str, ca: bool = False) -> None:
        args = ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        args += ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={subject}"]
        if not ca:
            args += ["-CA", str(self.ca_file), "-CAkey", str(self.dir / "ca.key")]
        for extension in extensions:
            args += ["-addext", extension]
        made = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if made.returncode != 0:
            raise RuntimeError(f"openssl could not make {cert.name}: {made.stderr[-1000:]}")

    def make_certificates(self) -> None:
        """EC P-256 keys (~5 ms each, RSA takes ~10x longer); extensions that Python's strict X.509 checks want."""
        ca, leaf = "keyUsage=critical,keyCertSign,cRLSign", "basicConstraints=critical,CA:FALSE"
        self._certificate(self.ca_file, self.dir / "ca.key", "agentwinter test CA", ca, ca=True)
        san, server, client = "subjectAltName=IP:127.0.0.1,DNS:localhost", "serverAuth", "clientAuth"
        self._certificate(self.server_cert, self.server_key, "localhost", leaf, san, f"extendedKeyUsage={server}")
        self._certificate(self.client_cert, self.client_key, "test client", leaf, f"extendedKeyUsage={client}")

    def listen_args(self) -> list[str]:
        return [
            "--port", "0", "--tls-port", str(self.port), "--bind", HOST,
            "--tls-cert-file", str(self.server_cert), "--tls-key-file", str(self.server_key),
            "--tls-ca-cert-file", str(self.ca_file), "--tls-auth-clients", "yes" if self.mutual else "optional",
        ]  # fmt: skip

    def connect(self) -> socket.socket:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if self.mutual:
            context.load_cert_chain(str(self.client_cert), str(self.client_key))
        raw = super().connect()
        try:
            return context.wrap_socket(raw, server_hostname=HOST)
        except OSError:
            raw.close()
            raise

    def start(self) -> TlsServer:
        if not self.ca_file.exists():
            self.make_certificates()
        super().start()
        return self

    def tls_params(self, client_cert: bool | None = None) -> dict[str, str]:
        """redis-py's ssl_* parameters trusting the test CA; the client cert if `client_cert` (default: if mutual)."""
        params = {"ssl_ca_certs": str(self.ca_file)}
        if self.mutual if client_cert is None else client_cert:
            params |= {"ssl_certfile": str(self.client_cert), "ssl_keyfile": str(self.client_key)}
        return params

    def url(self, db: int = 1, client_cert: bool | None = None) -> str:
        return f"rediss://{HOST}:{self.port}/{db}?{urlencode(self.tls_params(client_cert), safe='/')}"

    def client(self, db: int = 1) -> Any:
        import redis

        params = self.tls_params()
        return redis.Redis(host=HOST, port=self.port, db=db, socket_timeout=5, retry=no_retry(), ssl=True, **params)
