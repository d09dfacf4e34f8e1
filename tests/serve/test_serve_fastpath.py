"""The fast path (serve/fastpath.py) answers a document GET and an OFREP flag POST exactly as the
Starlette routes it stands in front of: same status, body and headers, request by request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from qv_config.client import ConfigClient
from qv_config.serve.guard import Guard
from tests.serve.conftest import InProcess, Synced, make_app

DOC = "/v1/dev/config/market-data"
FLAG = "/ofrep/v1/evaluate/flags/pre-trade-risk-v2"
CONTEXT = {"context": {"targetingKey": "trader-7", "desk": "eu-eq", "instrumentId": "AAPL"}}


@pytest.fixture(scope="module")
def pair(client: ConfigClient, synced: Synced) -> Iterator[tuple[InProcess, InProcess]]:
    from anyio.from_thread import start_blocking_portal

    fast, slow = make_app(client, synced.root), make_app(client, synced.root)
    assert isinstance(slow, Guard)
    assert slow.fast is not None
    slow.fast = None  # every request through Starlette's routes
    with start_blocking_portal() as portal:
        yield InProcess(portal, fast), InProcess(portal, slow)


def _etag(http: InProcess) -> str:
    return http.get(DOC).headers["etag"]


async def _chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds as read
    for _ in range(100):
        yield b" " * 1024


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", DOC, {}),  # its vendors' api_key masked
    ("GET", "/v1/dev/Config/market-data", {}),
    ("GET", "/v1/dev/flag/pre-trade-risk-v2", {}),
    ("GET", DOC, {"headers": {"if-none-match": "ETAG"}}),
    ("GET", DOC, {"headers": {"if-none-match": '"x", W/ETAG'}}),
    ("GET", DOC, {"headers": {"if-none-match": "*"}}),
    ("GET", DOC, {"headers": {"if-none-match": '"nope"'}}),
    ("GET", "/v1/prod/config/market-data", {}),
    ("GET", "/v1/dev/nokind/market-data", {}),
    ("GET", "/v1/dev/config/no-such-service", {}),
    ("GET", "/v1/dev/config/%00%1b%5b31m", {}),
    ("GET", "/v1/dev/config/..%2F..%2Fetc%2Fpasswd", {}),
    ("POST", DOC, {}),
    ("POST", FLAG, {"json": CONTEXT}),
    ("POST", FLAG, {"json": {}}),
    ("POST", FLAG, {"content": b""}),
    ("POST", FLAG, {"content": b"{nope"}),
    ("POST", FLAG, {"json": {"context": [1]}}),
    ("POST", FLAG, {"content": _chunks}),
    ("POST", "/ofrep/v1/evaluate/flags/no-such-flag", {"json": CONTEXT}),
    ("POST", "/ofrep/v1/evaluate/flags/md-vendor-failover", {"json": {}}),
    ("GET", FLAG, {}),
]


def _send(http: InProcess, method: str, path: str, kw: dict[str, Any], etag: str) -> httpx.Response:
    kw = dict(kw)
    if "headers" in kw:
        kw["headers"] = {k: v.replace("ETAG", etag) for k, v in kw["headers"].items()}
    if callable(kw.get("content")):
        kw["content"] = kw["content"]()
    return http.request(method, path, **kw)


@pytest.mark.parametrize(("method", "path", "kw"), REQUESTS)
def test_the_fast_path_answers_as_the_routes_do(
    pair: tuple[InProcess, InProcess], method: str, path: str, kw: dict[str, Any]
) -> None:
    fast, slow = pair
    etag = _etag(slow)
    a, b = _send(fast, method, path, kw, etag), _send(slow, method, path, kw, etag)
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert _headers(a) == _headers(b)
    assert "Traceback" not in a.text


def _headers(got: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in got.headers.items() if k not in ("date", "server")}
