"""OFREP: OpenFeature's own OFREP provider (openfeature-provider-ofrep) through the OpenFeature
SDK against a real `qv serve`, compared with in-process evaluation; OFREP's error codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qv_config.client import ConfigClient
from tests.flags.coins import Coin, no_coins
from tests.flags.test_flags_unleashclient import contexts
from tests.serve.conftest import InProcess, Live

api = pytest.importorskip("openfeature.api")
ofrep = pytest.importorskip("openfeature.contrib.provider.ofrep")
from openfeature.evaluation_context import EvaluationContext  # noqa: E402
from openfeature.exception import ErrorCode  # noqa: E402
from openfeature.flag_evaluation import Reason  # noqa: E402


def _split(ctx: dict[str, Any]) -> tuple[EvaluationContext, dict[str, Any]]:
    """The same context for OFREP (targeting key, attributes) and for Unleash in process."""
    fields = dict(ctx.get("properties", ctx))
    user = fields.pop("userId", None) or ctx.get("userId")
    unleash: dict[str, Any] = {"properties": fields}
    if user:
        unleash["userId"] = user
    return EvaluationContext(user, fields), unleash


def _resolve(of: Any, name: str, payload: dict[str, Any] | None, ec: EvaluationContext) -> Any:
    kind = (payload or {}).get("type", "string")
    if kind == "json":
        return of.get_object_details(name, {}, ec)
    if kind == "number":
        return of.get_float_details(name, -1.0, ec)
    return of.get_string_details(name, "default", ec)


def _expected(client: ConfigClient, name: str, unleash: dict[str, Any]) -> tuple[Any, Any]:
    """(value, variant) in process; value None: the caller's default."""
    if not client.snapshot.shapes[name].variants:
        return client.is_enabled(name, unleash), None
    chosen = client.variant(name, unleash)
    if not chosen["enabled"]:
        return None, None
    payload = chosen["payload"]
    if payload is None:
        return chosen["name"], chosen["name"]
    value = payload["value"]
    if payload["type"] == "json":
        value = json.loads(value)
    elif payload["type"] == "number":
        value = float(value)
    return value, chosen["name"]


def test_ofrep_provider_agrees_with_in_process_evaluation(live: Live, client: ConfigClient) -> None:
    api.set_provider(ofrep.OFREPProvider(base_url=live.base), domain="qv-ofrep")
    of = api.get_client("qv-ofrep")
    names = sorted(client.snapshot.shapes)
    compared = 0
    try:
        with no_coins():
            for ctx in contexts(seed=21)[:150]:
                ec, unleash = _split(ctx)
                for name in names:
                    try:
                        want, variant = _expected(client, name, unleash)
                        payload = client.variant(name, unleash)["payload"]
                    except Coin:
                        continue
                    if want is None or isinstance(want, bool):
                        got = of.get_boolean_details(name, False, ec)
                        assert got.value is bool(want), (name, ctx, got)
                        assert got.error_code is None, got
                    else:
                        got = _resolve(of, name, payload, ec)
                        assert got.value == want, (name, ctx, got)
                        assert got.variant == variant
                    assert got.flag_metadata["revision"] == client.revision
                    compared += 1
    finally:
        api.clear_providers()
    assert compared >= len(names) * 140


def test_ofrep_errors_and_bulk(http: InProcess, client: ConfigClient) -> None:
    missing = http.post("/ofrep/v1/evaluate/flags/no-such-flag", json={"context": {}})
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert missing.json()["key"] == "no-such-flag"
    ok = http.post("/ofrep/v1/evaluate/flags/md-vendor-failover", json={})
    assert ok.status_code == 200
    assert ok.json()["value"] is True
    assert ok.json()["reason"] in {r.name for r in Reason}
    bulk = http.post("/ofrep/v1/evaluate/flags", json={"context": {"targetingKey": "trader-1"}})
    assert bulk.status_code == 200
    keys = [f["key"] for f in bulk.json()["flags"]]
    assert keys == sorted(client.snapshot.shapes)
    etag = bulk.headers["etag"]
    same = http.post(
        "/ofrep/v1/evaluate/flags",
        json={"context": {"targetingKey": "trader-1"}},
        headers={"if-none-match": etag},
    )
    assert same.status_code == 304
    bad = http.post("/ofrep/v1/evaluate/flags", content=b"nope")
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == ErrorCode.PARSE_ERROR.value
