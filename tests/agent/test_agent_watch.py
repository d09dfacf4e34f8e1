"""`qv agent` watching etcd between cycles: out-of-band edits healed at once, full resync after a
compacted history or a lost stream.

The agents run with ``--interval 30``: only the watch can explain a reaction within seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

KEY = "dev/config/example-service"


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    made: Path = h.make_repo(tmp_path / "repo")
    return made


def args(repo: Path, url: str, *extra: str) -> list[str]:
    return [
        *("--env", "dev", "--source", str(repo), "--store", url),
        *("--interval", "30", "--lease-ttl", "90", "--max-backoff", "2", *extra),
    ]


def etcdctl(port: int, *argv: str) -> str:
    done = subprocess.run(
        ["etcdctl", f"--endpoints=127.0.0.1:{port}", *argv],
        capture_output=True,
        text=True,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return done.stdout


def current_revision(port: int) -> int:
    status = json.loads(etcdctl(port, "endpoint", "status", "-w", "json"))
    return int(status[0]["Status"]["header"]["revision"])


def stored(url: str, cwd: Path, key: str = KEY) -> bytes | None:
    from qv_config.store import open_store

    store = open_store(url, cwd)
    try:
        return store.read("dev").values.get(key)
    finally:
        store.close()


def started(agent: Any, h: Any, url: str, cwd: Path, repo: Path) -> bytes:
    """Wait for the first sync and an open watch; return the deployed value of KEY."""
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, cwd) == tip, what="the first sync")
    h.wait_for(lambda: agent.events("watching"), what="the watch to open")
    value = stored(url, cwd)
    assert value is not None
    return value


def edit_and_time_heal(port: int, url: str, cwd: Path, good: bytes, h: Any) -> float:
    prefix = url.split("prefix=")[1]
    etcdctl(port, "put", f"{prefix}/{KEY}", '{"hacked":true}')
    edited = time.monotonic()
    h.wait_for(lambda: stored(url, cwd) == good, timeout=10, what="the watch-triggered heal")
    return time.monotonic() - edited


def test_out_of_band_put_is_healed_by_the_watch_within_seconds(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], etcd_server: Any
) -> None:
    url = f"{etcd_server.url}?prefix=w{tmp_path.name[-6:]}"
    agent = spawn(tmp_path, *args(repo, url, "--self-heal"))
    good = started(agent, h, url, tmp_path, repo)
    assert not agent.events("drift")  # qv's own apply (values + _meta, one Txn) is not drift
    seconds = [edit_and_time_heal(etcd_server.port, url, tmp_path, good, h) for _ in range(3)]
    print(f"out-of-band put -> healed: {[round(s, 3) for s in seconds]} s")
    assert max(seconds) < 5
    h.wait_for(lambda: agent.metric("qv_agent_healed_keys_total") == 3, what="heal metric")
    assert len(agent.events("applied")) == 1  # no cycle ran: the watch did it
    assert [e["modified"] for e in agent.events("drift")] == [[KEY]] * 3
    assert agent.metric('qv_agent_watch_resyncs_total{reason="compacted"}') == 0
    last = h.audit(url, tmp_path)[-1]
    assert last.reason.startswith("self-heal: restored 1")
    assert "hacked" not in agent.log_path.read_text()  # never a value in the logs
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.proc.wait(10) == 0


def test_out_of_band_delete_without_self_heal_is_reported_at_once(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], etcd_server: Any
) -> None:
    url = f"{etcd_server.url}?prefix=d{tmp_path.name[-6:]}"
    agent = spawn(tmp_path, *args(repo, url))
    started(agent, h, url, tmp_path, repo)
    etcdctl(etcd_server.port, "put", f"{url.split('prefix=')[1]}/dev/_lease_notes", "x")
    etcdctl(etcd_server.port, "del", f"{url.split('prefix=')[1]}/{KEY}")
    h.wait_for(lambda: agent.metric("qv_agent_drift_keys") == 2, timeout=5, what="drift")
    assert agent.events("drift")[-1]["missing"] == [KEY]
    # not a key qv writes (those are _lease, _meta, _index…): written behind its back
    assert agent.events("drift")[-1]["unexpected"] == ["dev/_lease_notes"]
    assert stored(url, tmp_path) is None  # reported, not healed
    assert not agent.events("healed")


def test_compacted_history_triggers_a_full_resync_then_the_watch_goes_on(
    tmp_path: Path,
    repo: Path,
    h: Any,
    spawn: Callable[..., Any],
    fresh_server: Callable[..., Any],
) -> None:
    server = fresh_server("etcd")
    url = f"{server.url}?prefix=qv"
    agent = spawn(tmp_path, *args(repo, url, "--self-heal"))
    good = started(agent, h, url, tmp_path, repo)
    # The agent falls behind: frozen while etcd restarts (its stream dies), an out-of-band edit
    # and other writes land, and the history its watch would resume from is compacted away.
    agent.proc.send_signal(signal.SIGSTOP)
    try:
        server.stop()
        server.start()
        etcdctl(server.port, "put", f"qv/{KEY}", '{"hacked":true}')
        for i in range(5):
            etcdctl(server.port, "put", f"elsewhere/{i}", "x")
        etcdctl(server.port, "compact", str(current_revision(server.port)))
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    h.wait_for(lambda: agent.events("watch_resync"), timeout=15, what="a resync")
    h.wait_for(lambda: stored(url, tmp_path) == good, timeout=10, what="the resync's heal")
    print(f"resume -> resync healed: {time.monotonic() - resumed:.3f} s")
    assert agent.events("watch_lost")
    assert agent.events("watch_resync")[0]["reason"] == "compacted"
    assert agent.events("watch_resync_needed")[0]["reason"] == "compacted"
    h.wait_for(
        lambda: agent.metric('qv_agent_watch_resyncs_total{reason="compacted"}') == 1,
        what="the resync metric",
    )
    h.wait_for(lambda: len(agent.events("watching")) == 2, what="the watch to restart")
    seconds = edit_and_time_heal(server.port, url, tmp_path, good, h)  # still watching
    assert seconds < 5
    h.wait_for(lambda: agent.metric("qv_agent_healed_keys_total") == 2, what="both heals")
    assert len(agent.events("applied")) == 1


def test_etcd_restart_reconnects_with_backoff_then_resyncs(
    tmp_path: Path,
    repo: Path,
    h: Any,
    spawn: Callable[..., Any],
    fresh_server: Callable[..., Any],
) -> None:
    server = fresh_server("etcd")
    url = f"{server.url}?prefix=qv"
    agent = spawn(tmp_path, *args(repo, url, "--self-heal"))
    good = started(agent, h, url, tmp_path, repo)
    server.stop()
    h.wait_for(lambda: agent.events("watch_lost"), what="the lost stream")
    time.sleep(1)  # a few reconnect attempts fail meanwhile
    server.start()
    h.wait_for(
        lambda: agent.metric('qv_agent_watch_resyncs_total{reason="reconnected"}') == 1,
        timeout=15,
        what="a resync after reconnecting",
    )
    h.wait_for(lambda: len(agent.events("watching")) == 2, what="the watch to restart")
    assert edit_and_time_heal(server.port, url, tmp_path, good, h) < 5
    assert agent.proc.poll() is None


def test_etcd_watch_events_idle_and_compaction(tmp_path: Path, etcd_server: Any) -> None:
    from qv_config.agent.watch import out_of_band
    from qv_config.store import open_store
    from qv_config.store.etcd import EtcdStore
    from qv_config.store.etcdwatch import WatchCompacted

    prefix = f"s{tmp_path.name[-6:]}"
    store = open_store(f"{etcd_server.url}?prefix={prefix}", tmp_path)
    assert isinstance(store, EtcdStore)
    store.read("dev")
    start = store.read_revision + 1
    etcdctl(etcd_server.port, "put", f"{prefix}/dev/config/a", "1")
    etcdctl(etcd_server.port, "put", f"{prefix}/other/config/a", "1")  # another environment
    etcdctl(etcd_server.port, "del", f"{prefix}/dev/config/a")
    began = time.monotonic()
    seen = [ev for batch in store.watch("dev", start, idle=1) for ev in batch]
    assert 1 <= time.monotonic() - began < 5  # returned after the idle second
    assert [(ev.key, ev.deleted) for ev in seen] == [
        ("dev/config/a", False),
        ("dev/config/a", True),
    ]
    assert out_of_band(seen, start) == ["dev/config/a", "dev/config/a"]
    assert out_of_band(seen, seen[-1].revision + 1) == []  # covered by a later full read
    etcdctl(etcd_server.port, "compact", str(current_revision(etcd_server.port)))
    assert store.compacted_after(start)
    with pytest.raises(WatchCompacted) as caught:
        list(store.watch("dev", start, idle=1))
    assert caught.value.compact_revision >= start
    store.close()


def test_watch_ignores_qvs_own_applies_and_reserved_keys() -> None:
    from qv_config.agent.watch import out_of_band
    from qv_config.store.etcdwatch import WatchEvent as Ev

    events = [
        Ev("dev/config/a", 10, False),  # an apply: values and _meta in one revision
        Ev("dev/_index", 10, False),
        Ev("dev/_meta", 10, False),
        Ev("dev/_lease", 11, False),  # reserved keys are never drift
        Ev("dev/_audit/000000000001", 12, False),
        Ev("dev/flag/b", 13, True),  # an out-of-band delete
        Ev("dev/flag/a/b", 14, False),  # keys qv never writes, whatever their shape
        Ev("dev/_x", 14, False),
    ]
    assert out_of_band(events, 0) == ["dev/flag/b", "dev/flag/a/b", "dev/_x"]
