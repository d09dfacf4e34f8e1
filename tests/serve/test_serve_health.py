"""Last known good over HTTP: a state the client refuses leaves the previous one served and
/healthz `degraded`; the next good apply is served and health is `ok` again; `starting` (503)
before any state."""

from __future__ import annotations

from pathlib import Path

from anyio.from_thread import start_blocking_portal

from qv_config.client import ConfigClient
from qv_config.serve import Settings, create_app
from tests.client.conftest import Writer, config, wait_for
from tests.serve.conftest import ENV, InProcess


def test_a_refused_state_keeps_the_last_good_one_and_health_says_degraded(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'state.db'}"
    writer = Writer(url, tmp_path)
    good = writer.apply(dict([config("oms", limit=5)]))
    with (
        ConfigClient(url, ENV, root=tmp_path, check_interval=0.5) as client,
        start_blocking_portal() as portal,
    ):
        http = InProcess(portal, create_app(client, Settings(ENV)))
        assert http.get("/healthz").json() == {"status": "ok", "revision": good}
        writer.apply(dict([config("oms", limit=6)]), bad_digest=True)
        wait_for(lambda: client.stale, what="the refusal")
        health = http.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "degraded", "revision": good}
        assert http.get("/v1/dev/config/oms").json()["spec"] == {"limit": 5}
        assert http.get("/v1/dev").json()["stale"] is True
        fixed = writer.apply(dict([config("oms", limit=7)]))
        wait_for(lambda: client.revision == fixed, what="the next good state")
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/v1/dev/config/oms").json()["spec"] == {"limit": 7}


def test_before_any_state_health_is_starting_and_reads_are_503(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'state.db'}"
    Writer(url, tmp_path)  # nothing applied: the store file does not exist yet
    with (
        ConfigClient(url, ENV, root=tmp_path, wait=0) as client,
        start_blocking_portal() as portal,
    ):
        http = InProcess(portal, create_app(client, Settings(ENV)))
        assert http.get("/healthz").status_code == 503
        assert http.get("/healthz").json()["status"] == "starting"
        got = http.get("/v1/dev/config/oms")
        assert got.status_code == 503
        assert "no state" in got.json()["error"]["message"]
        ofrep = http.post("/ofrep/v1/evaluate/flags/x", json={})
        assert ofrep.status_code == 503
        assert ofrep.json()["errorCode"] == "PROVIDER_NOT_READY"
        bulk = http.post("/ofrep/v1/evaluate/flags", json={})
        assert bulk.status_code == 503
        assert bulk.json()["errorCode"] == "PROVIDER_NOT_READY"
