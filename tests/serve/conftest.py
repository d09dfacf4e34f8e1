"""qv serve test helpers: the repository's project synced to a SQLite store, the app in process
(httpx through Starlette's TestClient) and ``qv serve`` as a real process on loopback."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from qv_config.client import ConfigClient
from qv_config.serve import Settings, create_app
from qv_config.serve.masking import SecretMarks
from tests.flags.conftest import copy_project
from tests.qvbin import QV
from tests.servers import free_port

ENV = "dev"
KEY = Path(__file__).resolve().parents[2] / "keys" / "demo-dev.agekey"


@dataclass(frozen=True)
class Synced:
    root: Path
    url: str


def sync(root: Path, url: str, env: str = ENV) -> None:
    env_vars = {**os.environ, "SOPS_AGE_KEY_FILE": str(KEY)}
    done = subprocess.run(
        [QV, "sync", "--env", env, "--store", url],
        cwd=root,
        env=env_vars,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    base = tmp_path_factory.mktemp("serve")
    root = copy_project(base / "repo")
    url = f"sqlite:{base / 'state.db'}"
    sync(root, url)
    return Synced(root, url)


@pytest.fixture(scope="module")
def client(synced: Synced) -> Iterator[ConfigClient]:
    with ConfigClient(synced.url, ENV, root=synced.root, wait=10) as c:
        yield c


def make_app(client: ConfigClient, root: Path, **settings: object) -> object:
    return create_app(client, Settings(ENV, marks=SecretMarks(root), **settings))  # type: ignore[arg-type]


class InProcess:
    """httpx through its ASGI transport, called from synchronous tests (an anyio portal runs
    the event loop on a thread of its own, as a server's would be)."""

    def __init__(self, portal: Any, app: Any) -> None:
        self.portal = portal
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.portal.call(partial(self.client.request, method, url, **kw))  # type: ignore[no-any-return]

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)


@pytest.fixture(scope="module")
def http(client: ConfigClient, synced: Synced) -> Iterator[InProcess]:
    from anyio.from_thread import start_blocking_portal

    with start_blocking_portal() as portal:
        yield InProcess(portal, make_app(client, synced.root))


@dataclass
class Live:
    base: str
    proc: subprocess.Popen[str]
    log: Path

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text()


def start_serve(root: Path, url: str, *extra: str, scheme: str = "http") -> Live:
    port = free_port()
    log = root.parent / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [QV, "serve", "--env", ENV, "--store", url, "--port", str(port), *extra],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    live = Live(f"{scheme}://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"qv serve exited {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{live.base}/healthz", verify=False, timeout=1).status_code == 200:
                return live
        except httpx.HTTPError:
            time.sleep(0.1)
    live.stop()
    raise AssertionError(f"qv serve did not answer in 30 s: {log.read_text()}")


@pytest.fixture(scope="module")
def live(synced: Synced) -> Iterator[Live]:
    server = start_serve(synced.root, synced.url)
    yield server
    server.stop()
