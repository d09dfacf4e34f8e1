"""The repository's own flags, rendered with ``qv render --format unleash``, bootstrap the
official Unleash Python SDK offline; its answers and qv's agree on thousands of contexts."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from qv_config.flags import compile_state
from tests.flags.coins import Coin, no_coins
from tests.inprocess import run_qv

ENVS = ("dev", "staging", "prod")
CONTEXTS = 2000
APP, ENVIRONMENT = "qv-test", "default"

unleash_client = pytest.importorskip("UnleashClient")
unleash_cache = pytest.importorskip("UnleashClient.cache")


def client_for(document: dict[str, Any], cache_dir: Path) -> Any:
    cache = unleash_cache.FileCache("qv-bootstrap", directory=str(cache_dir))
    cache.bootstrap_from_dict(document)
    client = unleash_client.UnleashClient(
        url="http://127.0.0.1:9/unused",  # never contacted: not initialised, bootstrapped only
        app_name=APP,
        environment=ENVIRONMENT,
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
    )
    assert client.is_enabled("md-vendor-failover") is True  # the bootstrap took
    return client


def contexts(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    desks = ["eu-eq", "eu-fut", "eu-fx", "us-eq", "us-fut", "apac-eq"]
    out = []
    for index in range(CONTEXTS):
        ctx: dict[str, Any] = {"strategyId": f"strategy-{rng.randrange(500)}"}
        if rng.random() < 0.9:
            ctx["instrumentId"] = rng.choice(["AAPL", "VOD.L", "SAP.DE", "EURUSD"]) + str(index)
        if rng.random() < 0.8:
            ctx["desk"] = rng.choice(desks)
        if rng.random() < 0.8:
            ctx["orderNotional"] = str(rng.choice([10, 999_999, 1_000_000, 2_500_000, 9e6]))
        if rng.random() < 0.5:
            ctx["userId"] = f"trader-{rng.randrange(50)}"
        out.append({"properties": ctx} if index % 2 else ctx)  # properties or flat fields
    return out


@pytest.mark.parametrize("env", ENVS)
def test_unleash_sdk_agrees_with_qv(
    env: str, shared_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_qv(capsys, shared_project, "render", "--env", env, "--format", "unleash")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    names = [f["name"] for f in document["features"]]
    assert len(names) >= 10
    ours, theirs = compile_state(document), client_for(document, tmp_path)
    compared, seen = 0, {name: set[tuple[bool, str]]() for name in names}
    try:
        with no_coins():
            for ctx in contexts(seed=len(env)):
                full = {"appName": APP, "environment": ENVIRONMENT, **ctx}
                for name in names:
                    try:
                        enabled, picked = ours.is_enabled(name, full), ours.variant(name, full)
                    except Coin:
                        continue
                    assert enabled is theirs.is_enabled(name, ctx), (name, ctx)
                    reference = theirs.get_variant(name, ctx)
                    assert picked["name"] == reference["name"], (name, ctx)
                    assert picked["payload"] == reference.get("payload"), (name, ctx)
                    assert picked["enabled"] is reference["enabled"], (name, ctx)
                    compared += 1
                    seen[name].add((enabled, picked["name"]))
    finally:
        theirs.destroy()
    assert compared >= len(names) * CONTEXTS * 0.9
    # rollouts, segments, constraints and variants really split the contexts
    assert sum(len(answers) > 1 for answers in seen.values()) >= 3, seen
