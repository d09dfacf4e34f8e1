"""The OpenFeature provider, through the SDK's own API (api.set_provider, api.get_client()):
every type, variants, reasons, error codes and provider events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus

from qv_config.client import ConfigClient
from qv_config.client.openfeature import QvProvider


def variant(name: str, kind: str, value: str, weight: int = 1000) -> dict[str, Any]:
    return {"name": name, "weight": weight, "payload": {"type": kind, "value": value}}


def rollout(percent: int, *constraints: dict[str, Any]) -> dict[str, Any]:
    parameters = {"rollout": str(percent), "stickiness": "userId", "groupId": "g"}
    return {"name": "flexibleRollout", "parameters": parameters, "constraints": list(constraints)}


DESK = {"contextName": "desk", "operator": "IN", "values": ["eu-eq"]}


def state(h: Any, **extra: dict[str, Any]) -> dict[str, bytes]:
    flags = {
        "kill": {"type": "kill-switch"},
        "off": {"enabled": False, "variants": [variant("v", "string", "x")]},
        "targeted": {"strategies": [rollout(100, DESK)]},
        "half": {"strategies": [rollout(50)]},
        "curve": {"variants": [variant("a", "string", "A", 500), variant("b", "string", "B", 500)]},
        "named": {"variants": [{"name": "only", "weight": 1000}]},
        "size": {"variants": [variant("n", "number", "42")]},
        "ratio": {"variants": [variant("r", "number", "0.25")]},
        "bad-number": {"variants": [variant("r", "number", "a lot")]},
        "limits": {"variants": [variant("j", "json", '{"eu": 5, "us": [1, 2]}')]},
        "bad-json": {"variants": [variant("j", "json", '{"eu": ')]},
        "plain": {},
        **extra,
    }
    return dict(h.flag(name, **spec) for name, spec in flags.items())


@pytest.fixture
def of(tmp_path: Path, h: Any) -> Iterator[tuple[Any, ConfigClient, Any]]:
    url = f"sqlite:{tmp_path}/state.db"
    writer = h.Writer(url, tmp_path)
    writer.apply(state(h))
    client = ConfigClient(url, h.ENV, root=tmp_path, max_backoff=0.3)
    api.set_provider_and_wait(QvProvider(client, close_client=True))
    yield api.get_client(), client, writer
    api.shutdown()
    api.clear_providers()


def test_boolean_values_and_reasons(of: Any) -> None:
    oc, client, _ = of
    details = oc.get_boolean_details("kill", False)
    assert (details.value, details.reason, details.error_code) == (True, Reason.STATIC, None)
    assert details.flag_metadata["revision"] == client.revision
    assert oc.get_boolean_details("off", True).value is False
    assert oc.get_boolean_details("off", True).reason == Reason.DISABLED
    eu = EvaluationContext("u1", {"desk": "eu-eq"})
    us = EvaluationContext("u1", {"desk": "us-eq"})
    assert oc.get_boolean_details("targeted", False, eu).reason == Reason.TARGETING_MATCH
    assert oc.get_boolean_details("targeted", False, eu).value is True
    assert oc.get_boolean_details("targeted", True, us).reason == Reason.DEFAULT
    assert oc.get_boolean_details("targeted", True, us).value is False
    half = [oc.get_boolean_details("half", False, EvaluationContext(f"u{i}")) for i in range(200)]
    assert {d.reason for d in half} == {Reason.SPLIT}
    assert 60 < sum(d.value for d in half) < 140
    for i, d in enumerate(half):  # the same answer as the client's, userId = targeting key
        assert d.value == client.is_enabled("half", {"userId": f"u{i}"})


def test_variants_of_every_type(of: Any) -> None:
    oc, client, _ = of
    ctx = EvaluationContext("trader-7")
    curve = oc.get_string_details("curve", "none", ctx)
    assert curve.variant in ("a", "b")
    assert curve.value == curve.variant.upper()
    assert curve.reason == Reason.SPLIT
    assert curve.variant == client.variant("curve", {"userId": "trader-7"})["name"]
    named = oc.get_string_details("named", "none", ctx)
    assert (named.value, named.variant, named.reason) == ("only", "only", Reason.STATIC)
    size = oc.get_integer_details("size", 0, ctx)
    assert (size.value, size.variant) == (42, "n")
    assert oc.get_float_details("ratio", 0.0, ctx).value == 0.25
    assert oc.get_float_details("size", 0.0, ctx).value == 42.0
    limits = oc.get_object_details("limits", {}, ctx)
    assert limits.value == {"eu": 5, "us": [1, 2]}
    assert limits.reason == Reason.STATIC
    assert oc.get_string_details("plain", "dflt", ctx).reason == Reason.DEFAULT  # no variants
    off = oc.get_string_details("off", "dflt", ctx)
    assert (off.value, off.reason, off.variant) == ("dflt", Reason.DISABLED, None)


@pytest.mark.parametrize(
    ("flag", "kind", "code"),
    [
        ("nope", "boolean", ErrorCode.FLAG_NOT_FOUND),
        ("nope", "string", ErrorCode.FLAG_NOT_FOUND),
        ("curve", "integer", ErrorCode.TYPE_MISMATCH),
        ("ratio", "integer", ErrorCode.TYPE_MISMATCH),
        ("size", "object", ErrorCode.TYPE_MISMATCH),
        ("limits", "string", ErrorCode.TYPE_MISMATCH),
        ("named", "float", ErrorCode.TYPE_MISMATCH),
        ("bad-number", "float", ErrorCode.PARSE_ERROR),
        ("bad-number", "integer", ErrorCode.PARSE_ERROR),
        ("bad-json", "object", ErrorCode.PARSE_ERROR),
    ],
)
def test_error_codes(of: Any, flag: str, kind: str, code: ErrorCode) -> None:
    oc, _, _ = of
    defaults = {"boolean": True, "string": "d", "integer": 7, "float": 0.5, "object": {"d": 1}}
    default = defaults[kind]
    details = getattr(oc, f"get_{kind}_details")(flag, default, EvaluationContext("u1"))
    assert (details.value, details.reason, details.error_code) == (default, Reason.ERROR, code)
    assert details.error_message


def test_not_ready_provider(tmp_path: Path, h: Any) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    h.Writer(url, tmp_path).apply(state(h))
    client = ConfigClient(url, "staging", root=tmp_path, wait=0)  # nothing synced to staging
    try:
        api.set_provider(QvProvider(client, init_timeout=0.2))
        oc = api.get_client()
        details = oc.get_boolean_details("kill", True)
        assert (details.value, details.error_code) == (True, ErrorCode.PROVIDER_NOT_READY)
        assert details.reason == Reason.ERROR
    finally:
        api.shutdown()
        api.clear_providers()
        client.close()


def test_provider_events_follow_the_store(of: Any, tmp_path: Path, h: Any) -> None:
    oc, _client, writer = of
    changed: list[EventDetails] = []
    stale, ready = threading.Event(), threading.Event()
    handlers = [
        (ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, changed.append),
        (ProviderEvent.PROVIDER_STALE, lambda _: stale.set()),
        (ProviderEvent.PROVIDER_READY, lambda _: ready.set()),
    ]
    for event, handler in handlers:
        api.add_handler(event, handler)
    try:
        writer.apply(state(h, kill={"type": "kill-switch", "enabled": False}))
        h.wait_for(lambda: changed, what="a configuration-changed event")
        assert changed[-1].flags_changed == ["kill"]
        assert oc.get_boolean_value("kill", True) is False
        db = tmp_path / "state.db"
        db.rename(tmp_path / "away.db")
        assert stale.wait(10)
        assert oc.get_provider_status() == ProviderStatus.STALE
        assert oc.get_boolean_value("kill", True) is False  # last known good meanwhile
        ready.clear()
        (tmp_path / "away.db").rename(db)
        assert ready.wait(10)
        assert oc.get_provider_status() == ProviderStatus.READY
    finally:
        for event, handler in handlers:
            api.remove_handler(event, handler)


class Unprintable:
    """A context attribute the caller got wrong: it cannot become text."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_unexpected_failure_is_general_with_the_default(of: Any) -> None:
    oc, _, _ = of
    context = EvaluationContext("u1", {"desk": Unprintable()})
    details = oc.get_boolean_details("targeted", True, context)
    assert (details.value, details.reason) == (True, Reason.ERROR)
    assert details.error_code == ErrorCode.GENERAL
    assert "RuntimeError" in (details.error_message or "")
    assert "no text" not in (details.error_message or "")  # its type and place, not its text
