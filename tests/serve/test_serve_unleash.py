"""The official Unleash Python SDK pointed at a real `qv serve` (loopback, a token in a custom
header) gives the answers of in-process ConfigClient on generated contexts; it registers, sends
metrics and revalidates its features with an ETag."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qv_config.client import ConfigClient
from qv_config.serve import tokens
from tests.flags.coins import Coin, no_coins
from tests.flags.test_flags_unleashclient import contexts
from tests.serve.conftest import Live, Synced, start_serve

unleash_client = pytest.importorskip("UnleashClient")
APP, ENVIRONMENT = "qv-serve-test", "default"


@pytest.fixture(scope="module")
def secured(synced: Synced, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, str]]:
    path = tmp_path_factory.mktemp("tokens") / "tokens.yaml"
    token = tokens.add(path, "unleash-sdk", ["dev"], secrets_read=False)
    live = start_serve(synced.root, synced.url, "--tokens", str(path))
    yield live, token
    live.stop()


def _sdk(base: str, token: str, cache_dir: Path) -> Any:
    from UnleashClient.cache import FileCache

    client = unleash_client.UnleashClient(
        url=f"{base}/api",
        app_name=APP,
        environment=ENVIRONMENT,
        custom_headers={"Authorization": token},
        refresh_interval=1,
        metrics_interval=1,
        cache=FileCache("qv-serve", directory=str(cache_dir)),
    )
    client.initialize_client()
    return client


def test_unleash_sdk_over_http_agrees_with_the_config_client(
    secured: tuple[Live, str], client: ConfigClient, tmp_path: Path
) -> None:
    live, token = secured
    sdk = _sdk(live.base, token, tmp_path)
    names = sorted(client.snapshot.shapes)
    assert len(names) >= 10
    compared = 0
    try:
        assert sdk.is_initialized
        with no_coins():
            for ctx in contexts(seed=13)[:1000]:
                full = {"appName": APP, "environment": ENVIRONMENT, **ctx}
                for name in names:
                    try:
                        ours, picked = client.is_enabled(name, full), client.variant(name, full)
                    except Coin:
                        continue
                    assert sdk.is_enabled(name, ctx) is ours, (name, ctx)
                    theirs = sdk.get_variant(name, ctx)
                    assert theirs["name"] == picked["name"], (name, ctx)
                    assert theirs.get("payload") == picked["payload"], (name, ctx)
                    compared += 1
        time.sleep(2.5)  # a refresh (304) and a metrics post
    finally:
        sdk.destroy()
    assert compared >= len(names) * 900
    log = live.log.read_text()
    assert '"path":"/api/client/register","status":202' in log
    assert '"path":"/api/client/metrics","status":202' in log
    assert '"path":"/api/client/features","status":304' in log
    assert token not in log


def test_features_need_the_token(secured: tuple[Live, str]) -> None:
    import httpx

    live, token = secured
    assert httpx.get(f"{live.base}/api/client/features").status_code == 401
    got = httpx.get(f"{live.base}/api/client/features", headers={"authorization": token})
    etag = got.headers["etag"]
    again = httpx.get(
        f"{live.base}/api/client/features",
        headers={"authorization": token, "if-none-match": etag},
    )
    assert again.status_code == 304
