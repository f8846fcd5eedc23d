"""A private, real redis-server on a free loopback port (and/or a unix socket), stopped by its pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`unix_socket=True` also listens on `socket_path` (mode 700) in the temp dir; `tcp=False` then turns TCP off."""

    def __init__(
        self, port: int | None = None, extra: tuple[str, ...] = (), *, unix_socket: bool = False, tcp: bool = True
    ) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed: apt-get install -y redis-server (./scripts/test does)")
        if not (tcp or unix_socket):
            raise ValueError("a server without TCP needs unix_socket=True")
        self.port = (port or free_port()) if tcp else 0
        self.dir = Path(tempfile.mkdtemp(prefix="aw-redis-"))
        self.socket_path: Path | None = self.dir / "redis.sock" if unix_socket else None
        self.process: subprocess.Popen[bytes] | None = None
        self.extra = list(extra)  # more configuration, e.g. "--rename-command", "HELLO", ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def url(self, db: int = 1) -> str:
        if not self.port:
            return self.unix_url(db)
        return f"redis://127.0.0.1:{self.port}/{db}"

    def unix_url(self, db: int = 1) -> str:
        if self.socket_path is None:
            raise ValueError("this server was started without unix_socket=True")
        return f"unix://{self.socket_path}?db={db}"

    def client(self, db: int = 1) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a test of an outage must see it at once, not after redis-py's backoff.
        where: dict[str, Any] = {"host": "127.0.0.1", "port": self.port}
        if not self.port:
            where = {"unix_socket_path": str(self.socket_path)}
        return redis.Redis(**where, db=db, socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def listen_args(self) -> list[str]:
        """Where the server listens; a subclass (TLS) listens differently."""
        args = ["--port", str(self.port), "--bind", "127.0.0.1"]
        if self.socket_path is not None:
            args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        return args

    def server_args(self) -> list[str]:
        """The whole command line; a subclass (sentinel) puts its config file first."""
        return [
            "redis-server",
            *self.listen_args(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--enable-debug-command",
            "local",
            "--dir",
            str(self.dir),
            *self.extra,
        ]

    def connect(self) -> socket.socket:
        """A raw connection to the server, for the start-up PING."""
        if not self.port:
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(0.2)
            try:
                sock.connect(str(self.socket_path))
            except OSError:
                sock.close()
                raise
            return sock
        return socket.create_connection(("127.0.0.1", self.port), timeout=0.2)

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(self.server_args(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stdout.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with self.connect() as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING within 10 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process and self.process.stdout:
            self.process.stdout.close()

    def kill(self) -> None:
        """An outage: SIGKILL, no chance to say goodbye."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> RedisServer:
        """Back on the same port (empty: nothing is persisted)."""
        self.stop()
        return self.start()

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
