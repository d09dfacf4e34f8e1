"""`qv agent` as a long-running process: metrics, health, signals, leases and outages.

Every test spawns real agents (subprocesses) on real Git repositories and real stores.
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    return h.make_repo(tmp_path / "repo")


def args(repo: Path, url: str, *extra: str) -> list[str]:
    return [
        "--env",
        "dev",
        "--source",
        str(repo),
        "--store",
        url,
        "--interval",
        "0.3",
        "--lease-ttl",
        "3",
        "--max-backoff",
        "1",
        *extra,
    ]


def test_metrics_health_and_sigterm(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    agent = spawn(tmp_path, *args(repo, url))
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == tip, what="the first sync")
    h.wait_for(lambda: agent.metric("qv_agent_lease_held") == 1, what="lease metric")
    code, body = agent.get("/healthz")
    assert code == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["deployed_revision"] == tip
    _, metrics = agent.get("/metrics")
    for name in (
        "qv_agent_apply_duration_seconds_bucket",
        "qv_agent_last_success_timestamp_seconds",
        'qv_agent_deployed_revision_info{digest="',
        "qv_agent_drift_keys 0.0",
        "qv_agent_refused_applies_total 0.0",
        'qv_agent_errors_total{kind="git"} 0.0',
    ):
        assert name in metrics, name
    assert f'revision="{tip}"' in metrics
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="the new commit")
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.proc.wait(10) == 0
    assert agent.events("stopped")
    from qv_config.store import open_store

    other = open_store(url, tmp_path)
    assert other.acquire_lease("dev", "next-agent", 5)  # released: no wait for the TTL
    for record in agent.logs():
        assert {"ts", "level", "event", "env"} <= set(record)


def test_two_agents_race_one_writer_each_state_once(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], redis_server: Any
) -> None:
    url = f"{redis_server.url}?prefix=race{tmp_path.name[-6:]}"
    a = spawn(tmp_path, *args(repo, url))
    b = spawn(tmp_path, *args(repo, url, "--cache-dir", str(tmp_path / "cache-b")))
    revs = []
    for value in (90000, 80000, 70000, 60000):
        revs.append(h.commit_notional(repo, value))
        h.wait_for(lambda r=revs[-1]: h.deployed(url, tmp_path) == r, what="each commit")
    held = [a.metric("qv_agent_lease_held"), b.metric("qv_agent_lease_held")]
    assert sorted(held) == [0.0, 1.0]
    entries = [e for e in h.audit(url, tmp_path) if e.action == "apply"]
    applied = [e.revision for e in entries]
    assert len(applied) == len(set(applied))  # each revision applied once
    assert applied[-4:] == revs
    for before, after in itertools.pairwise(entries):
        assert after.from_revision == before.revision  # never interleaved
    writer = a if held[0] == 1 else b
    writer.proc.send_signal(signal.SIGTERM)  # fail-over: the other takes the lease at once
    assert writer.proc.wait(10) == 0
    standby = b if writer is a else a
    h.wait_for(lambda: standby.metric("qv_agent_lease_held") == 1, what="fail-over")
    rev = h.commit_notional(repo, 50000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="applied by the other agent")


def test_sigkill_mid_walk_restart_converges(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], etcd_server: Any
) -> None:
    url = f"{etcd_server.url}?prefix=kill{tmp_path.name[-6:]}"
    assert h.run_once(tmp_path, *args(repo, url)).returncode == 0
    revs = [h.commit_notional(repo, v) for v in range(90000, 90040)]
    agent = spawn(tmp_path, *args(repo, url), metrics=False)
    h.wait_for(lambda: len(agent.events("applied")) >= 3, what="a few applies")
    agent.proc.kill()  # SIGKILL somewhere in the walk
    agent.proc.wait(10)
    killed_at = h.deployed(url, tmp_path)
    assert killed_at in revs
    assert _store_matches_its_revision(url, tmp_path, repo)  # one whole revision, never a mix
    again = spawn(tmp_path, *args(repo, url), metrics=False)
    h.wait_for(lambda: h.deployed(url, tmp_path) == revs[-1], timeout=60, what="convergence")
    assert _store_matches_its_revision(url, tmp_path, repo)
    applied = [e.revision for e in h.audit(url, tmp_path) if e.action == "apply"]
    assert len(applied) == len(set(applied))
    again.proc.send_signal(signal.SIGTERM)
    assert again.proc.wait(10) == 0


def _store_matches_its_revision(url: str, tmp_path: Path, repo: Path) -> bool:
    from qv_config.store import open_store
    from qv_config.store.source import render_desired

    store = open_store(url, tmp_path)
    state = store.read("dev")
    rev = json.loads(state.meta_raw or b"{}")["revision"]
    return dict(state.values) == dict(render_desired(repo, "dev", rev, check=False).values)


def _edit_behind_qvs_back(url: str, tmp_path: Path, key: str, value: bytes) -> None:
    from qv_config.store import open_store

    store = open_store(url, tmp_path)
    full = f"{store.url.prefix}/{key}"
    if store.url.scheme == "redis":
        import redis

        redis.Redis(port=store.url.port).set(full, value)
    else:
        subprocess.run(
            ["etcdctl", f"--endpoints=127.0.0.1:{store.url.port}", "put", full, value.decode()],
            check=True,
            capture_output=True,
            env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
        )


@pytest.mark.parametrize("kind", ["redis", "etcd"])
def test_out_of_band_edit_detected_then_healed(
    kind: str,
    tmp_path: Path,
    repo: Path,
    h: Any,
    spawn: Callable[..., Any],
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue(f"{kind}_server")
    url = f"{server.url}?prefix=oob{tmp_path.name[-6:]}"
    watcher = spawn(tmp_path, *args(repo, url))
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == tip, what="the first sync")
    if kind == "etcd":  # a compacted history must not hide an edit: drift is polled, not watched
        subprocess.run(
            ["etcdctl", f"--endpoints=127.0.0.1:{server.port}", "compact", "1"],
            capture_output=True,
            env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
            check=False,
        )
    key = "dev/config/example-service"
    _edit_behind_qvs_back(url, tmp_path, key, b'{"hacked":true}')
    h.wait_for(lambda: watcher.metric("qv_agent_drift_keys") == 1, what="drift detected")
    drift = watcher.events("drift")[-1]
    assert drift["modified"] == [key]
    assert "hacked" not in json.dumps(watcher.logs())  # logs never carry store values
    watcher.proc.send_signal(signal.SIGTERM)
    assert watcher.proc.wait(10) == 0
    healer = spawn(tmp_path, *args(repo, url, "--self-heal"))
    h.wait_for(lambda: healer.events("healed"), what="self-heal")
    assert _store_matches_its_revision(url, tmp_path, repo)
    h.wait_for(lambda: healer.metric("qv_agent_healed_keys_total") == 1, what="heal metric")
    assert healer.metric("qv_agent_drift_keys") == 0
    last = h.audit(url, tmp_path)[-1]
    assert last.reason.startswith("self-heal: restored 1")


def test_git_source_unreachable_backs_off_and_recovers(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    agent = spawn(tmp_path, *args(repo, url))
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == tip, what="the first sync")
    away = tmp_path / "away"
    shutil.move(repo, away)  # the remote disappears
    h.wait_for(
        lambda: (agent.metric('qv_agent_errors_total{kind="git"}') or 0) >= 2,
        what="git errors counted",
    )
    assert agent.events("backoff")
    h.wait_for(lambda: agent.get("/healthz")[0] == 503, what="unhealthy after 3 intervals")
    assert json.loads(agent.get("/healthz")[1])["last_error"].startswith("cannot fetch")
    assert h.deployed(url, tmp_path) == tip  # store untouched
    assert agent.proc.poll() is None  # the loop keeps running
    shutil.move(away, repo)
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="recovery")
    h.wait_for(lambda: agent.get("/healthz")[0] == 200, what="healthy again")


def test_store_outage_backs_off_and_recovers(
    tmp_path: Path,
    repo: Path,
    h: Any,
    spawn: Callable[..., Any],
    fresh_server: Callable[..., Any],
) -> None:
    server = fresh_server("redis")
    url = server.url
    agent = spawn(tmp_path, *args(repo, url))
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == tip, what="the first sync")
    server.kill()
    h.wait_for(
        lambda: (agent.metric('qv_agent_errors_total{kind="store"}') or 0) >= 1,
        what="store errors counted",
    )
    assert agent.proc.poll() is None
    server.start()
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="recovery after the outage")


def test_store_url_with_a_missing_tls_file_counts_as_a_store_error(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    # Not a Git problem: the metric and /healthz must point at the store (the file may come
    # back, as a mounted secret does; the agent keeps trying).
    url = f"etcds://127.0.0.1:2379?cacert={tmp_path / 'missing-ca.pem'}"
    agent = spawn(tmp_path, *args(repo, url))
    h.wait_for(
        lambda: (agent.metric('qv_agent_errors_total{kind="store"}') or 0) >= 1,
        what="a store error counted",
    )
    assert (agent.metric('qv_agent_errors_total{kind="git"}') or 0) == 0
    assert "missing-ca.pem" in json.loads(agent.get("/healthz")[1])["last_error"]
    assert agent.proc.poll() is None
