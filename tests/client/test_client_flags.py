"""Flags through the client: the compiled evaluator per state, live flag changes, a state whose
flags do not compile refused, and the evaluation counts as Prometheus metrics."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from qv_config.client import ConfigClient
from qv_config.flags import compile_state
from qv_config.flags.unleash import features_document


def rollout(percent: int, *constraints: dict[str, Any]) -> dict[str, Any]:
    parameters = {"rollout": str(percent), "stickiness": "userId", "groupId": "g"}
    return {"name": "flexibleRollout", "parameters": parameters, "constraints": list(constraints)}


DESK = {"contextName": "desk", "operator": "IN", "values": ["eu-eq"]}


def flags(h: Any, *, kill: bool = True) -> dict[str, bytes]:
    variants = [
        {"name": "a", "weight": 500, "payload": {"type": "string", "value": "curve-a"}},
        {"name": "b", "weight": 500, "payload": {"type": "string", "value": "curve-b"}},
    ]
    return dict(
        [
            h.flag("kill", type="kill-switch", enabled=kill),
            h.flag("off", enabled=False),
            h.flag("targeted", strategies=[rollout(50, DESK)]),
            h.flag("split", type="experiment", strategies=[rollout(100)], variants=variants),
            h.config("oms", limit=1),
        ]
    )


def contexts(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    desks = ["eu-eq", "us-eq", None]
    return [
        {"userId": f"u{rng.randrange(10**6)}", "properties": {"desk": rng.choice(desks)}}
        for _ in range(n)
    ]


def test_flags_evaluate_as_the_compiled_state_and_follow_applies(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    values = flags(h)
    writer.apply(values)
    docs = [h.flag_doc(v) for k, v in values.items() if "/flag/" in k]
    oracle = compile_state(features_document(docs))
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:
        for context in contexts(300):
            for name in ("kill", "off", "targeted", "split", "unknown"):
                assert client.is_enabled(name, context) == oracle.is_enabled(name, context)
                assert client.variant(name, context) == oracle.variant(name, context)
        assert client.is_enabled("kill")
        assert not client.is_enabled("unknown")  # an unknown flag is off, as in Unleash
        assert client.variant("unknown")["name"] == "disabled"
        changed = writer.apply(flags(h, kill=False))
        h.wait_for(lambda: client.revision == changed, what="the flag change")
        assert not client.is_enabled("kill")


def test_a_state_whose_flags_do_not_compile_is_refused(
    store_url: str, tmp_path: Path, writer: Any, h: Any, client_log: Any
) -> None:
    good = writer.apply(flags(h))
    with ConfigClient(store_url, h.ENV, root=tmp_path, check_interval=0.5) as client:
        strategy = {"name": "default", "segments": ["no-such-segment"]}
        writer.apply({**flags(h, kill=False), **dict([h.flag("seg", strategies=[strategy])])})
        h.wait_for(lambda: client.stale, what="the refusal")
        assert client.revision == good
        assert client.is_enabled("kill")
        assert any("do not compile" in line and "no-such-segment" in line for line in client_log())


def test_evaluation_counts_are_prometheus_metrics(tmp_path: Path, h: Any, client_log: Any) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    h.Writer(url, tmp_path).apply(flags(h))
    registry = CollectorRegistry()
    with ConfigClient(url, h.ENV, root=tmp_path, registry=registry) as client:
        for _ in range(3):
            client.is_enabled("kill")
        client.is_enabled("off")
        client.variant("split", {"userId": "u1"})
        chosen = client.variant("split", {"userId": "u1"})["name"]

        def sample(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(name, {"env": "dev", **labels})

        assert sample("qv_client_flag_evaluations_total", flag="kill", result="true") == 3
        assert sample("qv_client_flag_evaluations_total", flag="off", result="false") == 1
        assert sample("qv_client_flag_variants_total", flag="split", variant=chosen) == 2
        assert sample("qv_client_updates_total", outcome="applied") == 1
        assert sample("qv_client_updates_total", outcome="refused") == 0
        assert sample("qv_client_stale") == 0
    assert registry.get_sample_value("qv_client_stale", {"env": "dev"}) is None  # unregistered


def test_not_ready_client_raises_on_evaluation(tmp_path: Path, h: Any) -> None:
    from qv_config.client import NotReady

    url = f"sqlite:{tmp_path}/state.db"
    h.Writer(url, tmp_path).apply(flags(h))
    with (
        ConfigClient(url, "staging", root=tmp_path, wait=0) as client,
        pytest.raises(NotReady, match="no state of staging is loaded yet"),
    ):
        client.is_enabled("kill")
