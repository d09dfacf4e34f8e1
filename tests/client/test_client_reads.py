"""ConfigClient on real SQLite, Redis and etcd: reads from memory, live updates, whole states."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from qv_config.client import ConfigClient, NotFound, NotReady, Update
from qv_config.errors import UsageError


def test_get_serves_the_applied_state_and_follows_applies(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    first = writer.apply(dict([h.config("oms", limit=5), h.config("risk", max=1)]))
    updates: list[Update] = []
    got = threading.Event()
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:
        assert client.ready
        assert not client.stale
        assert client.revision == first
        assert client.get("Config", "oms")["spec"] == {"limit": 5}
        assert client.get("config", "oms") is client.get("Config", "oms")  # kind or its slug
        client.subscribe(lambda u: (updates.append(u), got.set()))
        second = writer.apply(dict([h.config("oms", limit=6), h.config("md", feed="b")]))
        assert got.wait(5), "no update within 5 s"
        assert client.revision == second
        assert client.get("Config", "oms")["spec"]["limit"] == 6
        assert client.get("Config", "risk", None) is None
        with pytest.raises(NotFound, match="no Config/risk"):
            client.get("Config", "risk")
    assert updates[0].event == "updated"
    assert updates[0].previous_revision == first
    assert updates[0].changed == ("dev/config/md", "dev/config/oms", "dev/config/risk")


def test_documents_served_are_read_only(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    writer.apply(dict([h.config("oms", limits={"eu": [1, 2]})]))
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:
        doc = client.get("Config", "oms")
        with pytest.raises(TypeError, match="read-only"):
            doc["spec"]["limits"]["eu"] = [3]
        with pytest.raises(AttributeError):
            doc["spec"]["limits"]["eu"].append(3)  # arrays are tuples
        mine = copy.deepcopy(doc)  # a mutable copy for the caller
        mine["spec"]["limits"]["eu"].append(3)
        assert client.get("Config", "oms")["spec"]["limits"]["eu"] == (1, 2)


def test_not_ready_until_a_state_is_synced(
    store_url: str, tmp_path: Path, writer: Any, h: Any, client_log: Any
) -> None:
    writer.apply(dict([h.config("oms", limit=1)]))  # creates the store; another env is empty
    with pytest.raises(NotReady, match="no state of staging could be loaded"):
        ConfigClient(store_url, "staging", root=tmp_path, wait=0.5)
    with ConfigClient(store_url, h.ENV, root=tmp_path, wait=0) as client:
        client.wait_ready(10)
        assert client.get("Config", "oms")["spec"] == {"limit": 1}
    assert any("nothing was synced to staging" in line for line in client_log())


def test_malformed_url_and_env_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="malformed"):
        ConfigClient("ftp://x", "dev", root=tmp_path)
    with pytest.raises(UsageError):
        ConfigClient(f"sqlite:{tmp_path}/s.db", "../etc", root=tmp_path)


def test_unchanged_documents_are_kept_across_applies(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    writer.apply(dict([h.config("oms", limit=1), h.config("risk", max=1)]))
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:
        risk, oms = client.get("Config", "risk"), client.get("Config", "oms")
        second = writer.apply(dict([h.config("oms", limit=2), h.config("risk", max=1)]))
        h.wait_for(lambda: client.revision == second, what="the apply")
        assert client.get("Config", "risk") is risk  # not parsed again: same bytes
        assert client.get("Config", "oms") is not oms


def _tamper(url: str, root: Path, key: str, value: bytes) -> None:
    """Write ``key`` behind qv's back with the store's own client library."""
    import base64
    import sqlite3

    import httpx
    import redis

    from qv_config.store.url import parse_store_url

    parsed = parse_store_url(url, root)
    full = f"{parsed.prefix}/{key}"
    if parsed.scheme == "sqlite":
        with sqlite3.connect(str(parsed.path)) as db:
            db.execute("UPDATE kv SET value = ? WHERE key = ?", (value.decode(), full))
    elif parsed.scheme == "redis":
        redis.Redis(host=parsed.host, port=parsed.port, db=parsed.db).set(full, value)
    else:
        body = {
            "key": base64.b64encode(full.encode()).decode(),
            "value": base64.b64encode(value).decode(),
        }
        httpx.post(f"http://{parsed.host}:{parsed.port}/v3/kv/put", json=body).raise_for_status()


def test_an_apply_is_read_from_the_hash_index_and_checked_against_the_digest(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    """Only the changed values are read (the hash index says which); the served state is still
    exactly the one _meta's digest names: a value edited behind qv's back in between is not
    picked up, the applied one is served (a full read would refuse the state instead)."""
    values = h.configs("0", 50)
    writer.apply(values)
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:
        _tamper(store_url, tmp_path, "dev/config/svc-007", b'{"hacked": true}')
        values.update([h.config("svc-001", rev="1", i=1)])
        second = writer.apply(values)
        h.wait_for(lambda: client.revision == second, what="the apply")
        assert not client.stale
        assert client.get("Config", "svc-001")["spec"]["rev"] == "1"
        assert client.get("Config", "svc-007")["spec"] == {"i": 7, "rev": "0"}


def test_close_stops_the_thread_promptly(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    writer.apply(dict([h.config("oms", limit=1)]))
    client = ConfigClient(store_url, h.ENV, root=tmp_path)
    start = time.monotonic()
    client.close()
    assert time.monotonic() - start < 2
    assert not [t for t in threading.enumerate() if t.name == f"qv-client-{h.ENV}"]
    assert client.get("Config", "oms")["spec"] == {"limit": 1}  # the last state stays
