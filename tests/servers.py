"""Real server fixtures shared by tests/store and tests/agent: redis-server and etcd on free
loopback ports with temp data dirs (each conftest imports them from here).

A missing binary skips the test locally and fails it in CI (CI=true), where
scripts/install-test-servers.sh must have installed it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run scripts/install-test-servers.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port}")


@dataclass
class Server:
    """A server process that can be stopped, SIGKILLed and restarted on the same data dir."""

    argv: list[str]
    port: int
    url: str
    ready: Callable[[Server], None] = field(repr=False)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.port, self.proc)
        self.ready(self)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def _redis_ready(server: Server) -> None:
    import redis

    deadline = time.monotonic() + 10
    password = server.url.split("@")[0].split(":")[-1] if "@" in server.url else None
    while True:
        try:
            redis.Redis(port=server.port, password=password).ping()
            return
        except redis.BusyLoadingError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_redis(tmp: Path, password: str | None = None) -> Server:
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        need_binary("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(tmp),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
    ]
    if password:
        argv += ["--requirepass", password]
    auth = f":{password}@" if password else ""
    return Server(argv, port, f"redis://{auth}127.0.0.1:{port}/0", _redis_ready)


def _etcd_ready(server: Server) -> None:
    import httpx

    deadline = time.monotonic() + 20
    while True:
        try:
            r = httpx.post(
                f"http://127.0.0.1:{server.port}/v3/kv/range", json={"key": "eA=="}, timeout=2
            )
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("etcd did not become ready")
        time.sleep(0.1)


def make_etcd(tmp: Path, max_txn_ops: int = 128, max_request_bytes: int = 1572864) -> Server:
    tmp.mkdir(parents=True, exist_ok=True)
    port, peer = free_port(), free_port()
    client, peer_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer}"
    argv = [
        need_binary("etcd"),
        "--name",
        "qvtest",
        "--data-dir",
        str(tmp / "etcd"),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer_url,
        "--initial-advertise-peer-urls",
        peer_url,
        "--initial-cluster",
        f"qvtest={peer_url}",
        "--max-txn-ops",
        str(max_txn_ops),
        "--max-request-bytes",
        str(max_request_bytes),
        "--log-level",
        "error",
    ]
    return Server(argv, port, f"etcd://127.0.0.1:{port}", _etcd_ready)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_redis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Raised limits so that large applies fit (the gateway also limits request bytes).
    server = make_etcd(
        tmp_path_factory.mktemp("etcd"), max_txn_ops=20000, max_request_bytes=64 * 1024 * 1024
    ).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A private server per test: ``fresh_server("redis")`` or ``("etcd", max_txn_ops=8)``."""
    started: list[Server] = []

    def start(kind: str, **options: object) -> Server:
        maker = make_redis if kind == "redis" else make_etcd
        server = maker(tmp_path / f"{kind}{len(started)}", **options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["sqlite", "redis", "etcd"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each backend, with a prefix unique to the test (shared servers)."""
    prefix = f"t{abs(hash(request.node.nodeid)) % 10**8}"
    if request.param == "sqlite":
        return f"sqlite:{tmp_path}/state.db?prefix={prefix}"
    server: Server = request.getfixturevalue(f"{request.param}_server")
    return f"{server.url}?prefix={prefix}"
