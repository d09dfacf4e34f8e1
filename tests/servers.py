"""Real server fixtures shared by tests/store and tests/agent: redis-server and etcd on free
loopback ports with temp data dirs (each conftest imports them from here). TLS variants
(``tls_certs``, ``redis_tls_server``, ``etcd_tls_server``) serve TLS with certificates made by the
``openssl`` CLI and demand a client certificate (mutual TLS).

A missing binary skips the test locally and fails it in CI (CI=true), where
scripts/install-test-servers.sh must have installed it.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import ssl
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


@dataclass(frozen=True)
class TlsCerts:
    """A test CA, a server certificate for IP 127.0.0.1 and a client certificate it signed, plus
    an unrelated CA (``other_ca``) that signed neither."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path

    def query(self, ca: Path | None = None, client: bool = True) -> str:
        """The TLS query of a store URL: ``?cacert=CA[&cert=..&key=..]``."""
        query = f"?cacert={ca or self.ca}"
        return query + (f"&cert={self.client_cert}&key={self.client_key}" if client else "")


_OPENSSL_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = qv-test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
# etcd's own gateway dials its gRPC port with the server certificate: it needs clientAuth too.
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
"""


_NEW_KEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -config openssl.cnf"


def _openssl(tmp: Path, args: str) -> None:
    """Run ``openssl ARGS`` in ``tmp`` (no argument holds a space)."""
    argv = [need_binary("openssl"), *args.split()]
    subprocess.run(argv, cwd=tmp, check=True, capture_output=True)


def _make_ca(tmp: Path, name: str) -> None:
    out = f"-keyout {name}.key -out {name}.pem"
    _openssl(tmp, f"req -x509 {_NEW_KEY} -extensions ca -subj /CN={name} -days 2 {out}")


def _make_leaf(tmp: Path, name: str, serial: int) -> None:
    """``name``.pem/.key signed by ca.pem, with the extensions of section ``name``."""
    _openssl(tmp, f"req -new {_NEW_KEY} -subj /CN=qv-{name} -keyout {name}.key -out {name}.csr")
    signer = f"-CA ca.pem -CAkey ca.key -set_serial {serial} -days 2"
    extensions = f"-extfile openssl.cnf -extensions {name}"
    _openssl(tmp, f"x509 -req -in {name}.csr {signer} {extensions} -out {name}.pem")


def make_certs(tmp: Path) -> TlsCerts:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "openssl.cnf").write_text(_OPENSSL_CNF, encoding="utf-8")
    _make_ca(tmp, "ca")
    _make_ca(tmp, "other-ca")
    _make_leaf(tmp, "server", 1)
    _make_leaf(tmp, "client", 2)
    return TlsCerts(
        ca=tmp / "ca.pem",
        server_cert=tmp / "server.pem",
        server_key=tmp / "server.key",
        client_cert=tmp / "client.pem",
        client_key=tmp / "client.key",
        other_ca=tmp / "other-ca.pem",
    )


def _client_context(certs: TlsCerts) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(certs.client_cert, certs.client_key)
    return context


def _redis_ready(server: Server, tls: TlsCerts | None = None) -> None:
    import redis

    deadline = time.monotonic() + 10
    password = server.url.split("@")[0].split(":")[-1] if "@" in server.url else None
    files = (tls.ca, tls.client_cert, tls.client_key) if tls else (None, None, None)
    while True:
        try:
            redis.Redis(
                host="127.0.0.1",
                port=server.port,
                password=password,
                ssl=tls is not None,
                ssl_ca_certs=str(files[0]) if files[0] else None,
                ssl_certfile=str(files[1]) if files[1] else None,
                ssl_keyfile=str(files[2]) if files[2] else None,
            ).ping()
            return
        except redis.BusyLoadingError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_redis(tmp: Path, password: str | None = None, tls: TlsCerts | None = None) -> Server:
    """With ``tls``: TLS only (``--port 0 --tls-port P``), client certificates required."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        need_binary("redis-server"),
        *(["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]),
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
    if tls:
        argv += ["--tls-cert-file", str(tls.server_cert), "--tls-key-file", str(tls.server_key)]
        argv += ["--tls-ca-cert-file", str(tls.ca), "--tls-auth-clients", "yes"]
    auth = f":{password}@" if password else ""
    scheme = "rediss" if tls else "redis"
    ready = functools.partial(_redis_ready, tls=tls)
    return Server(argv, port, f"{scheme}://{auth}127.0.0.1:{port}/0", ready)


def redis_tls_missing(redis_server: str) -> str | None:
    """Why this redis-server cannot serve TLS (built without it), or None when it can."""
    try:
        argv = [redis_server, "--port", "0", "--tls-port", "0", "--no-such-directive"]
        out = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    # A TLS build stops at the unknown directive; a build without TLS already at tls-port.
    if "tls-port" in out.stdout + out.stderr:
        return f"{redis_server} was built without TLS (BUILD_TLS=no): Redis TLS tests skipped"
    return None


def _etcd_ready(server: Server, tls: TlsCerts | None = None) -> None:
    import httpx

    deadline = time.monotonic() + 20
    scheme = "https" if tls else "http"
    verify: ssl.SSLContext | bool = _client_context(tls) if tls else True
    while True:
        try:
            r = httpx.post(
                f"{scheme}://127.0.0.1:{server.port}/v3/kv/range",
                json={"key": "eA=="},
                timeout=2,
                verify=verify,
            )
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("etcd did not become ready")
        time.sleep(0.1)


def make_etcd(
    tmp: Path,
    max_txn_ops: int = 128,
    max_request_bytes: int = 1572864,
    tls: TlsCerts | None = None,
) -> Server:
    """With ``tls``: clients speak TLS and must show a certificate the CA signed (peers: http)."""
    tmp.mkdir(parents=True, exist_ok=True)
    port, peer = free_port(), free_port()
    client = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    peer_url = f"http://127.0.0.1:{peer}"
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
    if tls:
        argv += ["--cert-file", str(tls.server_cert), "--key-file", str(tls.server_key)]
        argv += ["--client-cert-auth", "--trusted-ca-file", str(tls.ca)]
    scheme = "etcds" if tls else "etcd"
    ready = functools.partial(_etcd_ready, tls=tls)
    return Server(argv, port, f"{scheme}://127.0.0.1:{port}", ready)


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


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> TlsCerts:
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def redis_tls_server(
    tmp_path_factory: pytest.TempPathFactory, tls_certs: TlsCerts
) -> Iterator[Server]:
    """redis-server serving TLS only and demanding client certificates. Skipped, even under CI,
    when this redis-server was built without TLS (Debian's is built with it)."""
    missing = redis_tls_missing(need_binary("redis-server"))
    if missing:
        pytest.skip(missing)
    server = make_redis(tmp_path_factory.mktemp("redis-tls"), tls=tls_certs).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def etcd_tls_server(
    tmp_path_factory: pytest.TempPathFactory, tls_certs: TlsCerts
) -> Iterator[Server]:
    """etcd serving clients over TLS with --client-cert-auth (etcd in production)."""
    server = make_etcd(tmp_path_factory.mktemp("etcd-tls"), tls=tls_certs).start()
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
