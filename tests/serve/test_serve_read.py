"""The read API in process: documents with ETags and 304, secrets masked, lists with labels and
pages, the deployed state, health, metrics, the OpenAPI description, clean JSON errors."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from qv_config.client import ConfigClient
from qv_config.serve.masking import MASK
from tests.serve.conftest import InProcess

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_a_document_is_the_stored_one_with_secrets_masked(
    http: InProcess, client: ConfigClient
) -> None:
    got = http.get("/v1/dev/config/market-data")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    stored = copy.deepcopy(client.get("Config", "market-data"))
    body = got.json()
    keys = [v["api_key"] for v in body["spec"]["vendors"]]
    assert keys
    assert all(k == MASK for k in keys)
    for vendor in stored["spec"]["vendors"]:
        vendor["api_key"] = MASK
    assert body == stored
    assert got.headers["etag"].endswith('-masked"')
    # The tag is the masked body's hash, not the stored value's: that one would let a reader
    # confirm a guessed secret offline (put it in place of the mask, hash, compare).
    import hashlib

    assert got.headers["etag"] == f'"sha256-{hashlib.sha256(got.content).hexdigest()}-masked"'
    assert got.headers["x-qv-revision"] == client.revision


def test_etag_revalidation_answers_304_and_the_kind_name_works_as_the_slug(
    http: InProcess,
) -> None:
    first = http.get("/v1/dev/flag/pre-trade-risk-v2")
    etag = first.headers["etag"]
    assert etag.startswith('"sha256-')
    assert "masked" not in etag
    again = http.get("/v1/dev/flag/pre-trade-risk-v2", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert (
        http.get(
            "/v1/dev/Flag/pre-trade-risk-v2", headers={"if-none-match": "W/" + etag}
        ).status_code
        == 304
    )
    assert (
        http.get("/v1/dev/flag/pre-trade-risk-v2", headers={"if-none-match": '"x"'}).status_code
        == 200
    )


def test_the_environment_names_what_is_deployed(http: InProcess, client: ConfigClient) -> None:
    got = http.get("/v1/dev").json()
    meta = client.snapshot.meta
    assert meta is not None
    assert got["revision"] == meta.revision
    assert got["digest"] == meta.digest
    assert got["applied_at"] == meta.applied_at
    assert got["approvers"] == list(meta.approvals)
    assert got["stale"] is False


def test_lists_filter_by_label_and_page_by_cursor(http: InProcess, client: ConfigClient) -> None:
    whole = http.get("/v1/dev/config").json()
    names = [d["metadata"]["name"] for d in whole["items"]]
    assert names == sorted(names)
    assert len(names) >= 3
    assert whole["next_cursor"] is None
    seen, cursor = [], ""
    while True:
        page = http.get("/v1/dev/config", params={"limit": 2, "cursor": cursor}).json()
        seen += [d["metadata"]["name"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == names
    jvm = http.get("/v1/dev/config", params={"label": "runtime=jvm"}).json()["items"]
    want = [
        d["metadata"]["name"]
        for d in whole["items"]
        if d["metadata"].get("labels", {}).get("runtime") == "jvm"
    ]
    assert [d["metadata"]["name"] for d in jvm] == want
    assert want
    both = http.get("/v1/dev/config", params=[("label", "runtime=jvm"), ("label", "platform=nope")])
    assert both.json()["items"] == []
    absent = http.get("/v1/dev/config", params={"label": "no-such-label=None"})
    assert absent.json()["items"] == []


def test_health_metrics_and_the_openapi_description(http: InProcess) -> None:
    assert http.get("/healthz").json()["status"] == "ok"
    http.get("/v1/dev/flag/pre-trade-risk-v2")
    metrics = http.get("/metrics").text
    assert 'qv_serve_requests_total{route="document",status="200"}' in metrics
    served = http.get("/openapi.json").json()
    assert served == json.loads(DOCS.read_text()), (
        "run: python -m qv_config.serve.openapi > docs/openapi.json"
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/prod/config/market-data", 404),  # another environment
        ("GET", "/v1/dev/config/no-such-service", 404),
        ("GET", "/v1/dev/nokind/market-data", 404),
        ("GET", "/v1/dev/config/..%2F..%2Fetc%2Fpasswd", 404),
        ("GET", "/v1/dev/config/%00%1b%5b31m", 404),
        ("GET", "/v1/dev/config/" + "a" * 5000, 404),
        ("GET", "/nowhere", 404),
        ("DELETE", "/v1/dev/config/market-data", 405),
        ("PUT", "/api/client/features", 405),
        ("GET", "/v1/dev/config?limit=0", 400),
        ("GET", "/v1/dev/config?limit=abc", 400),
        ("GET", "/v1/dev/config?label=novalue", 400),
        ("GET", "/v1/dev/events?wait=-1", 400),
        ("GET", "/v1/dev/events?wait=nan", 400),
    ],
)
def test_bad_requests_get_clean_json_errors(
    http: InProcess, method: str, path: str, status: int
) -> None:
    got = http.request(method, path)
    assert got.status_code == status, got.text
    error = got.json()["error"]
    assert error["status"] == status
    assert error["message"]
    assert "Traceback" not in got.text


def test_bodies_past_the_limit_and_bad_json_are_refused(http: InProcess) -> None:
    huge = b"{" + b" " * (70 * 1024) + b"}"
    got = http.post(
        "/api/client/metrics", content=huge, headers={"content-type": "application/json"}
    )
    assert got.status_code == 413
    assert got.json()["error"]["status"] == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds as read
        for _ in range(100):
            yield b" " * 1024

    assert http.post("/api/client/register", content=chunks()).status_code == 413
    assert http.post("/api/client/register", content=b"{nope").status_code == 400
    assert http.post("/api/client/register", content=b"[1]").status_code == 400
    assert http.post("/api/client/register", content=b'{"appName": "x"}').status_code == 202
    bad = http.post("/ofrep/v1/evaluate/flags/pre-trade-risk-v2", content=b"{nope")
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "PARSE_ERROR"
    bad = http.post("/ofrep/v1/evaluate/flags/pre-trade-risk-v2", json={"context": [1]})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "INVALID_CONTEXT"
