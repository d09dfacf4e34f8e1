"""The per-key hash index (planning without reading values) and the writer lease, all stores."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from qv_config.store import DesiredState, apply_desired, open_store
from qv_config.store.layout import digest_of, full_hashes

ENV = "dev"


def vals(tag: str, n: int, changed: tuple[int, ...] = ()) -> dict[str, bytes]:
    return {
        f"{ENV}/config/svc-{i:05d}": json.dumps(
            {"i": i, "rev": tag if i in changed else "base"}, sort_keys=True
        ).encode()
        for i in range(n)
    }


def state(rev: str, values: dict[str, bytes]) -> DesiredState:
    hashes = full_hashes(values)
    return DesiredState(ENV, rev, digest_of(hashes), values, hashes)


def apply(store: Any, desired: DesiredState, **kw: Any) -> Any:
    return apply_desired(
        store,
        desired,
        is_descendant=lambda a, b: int(a[1:]) <= int(b[1:]),
        applied_by="t@x",
        **kw,
    )


def raw_client(store: Any) -> tuple[Any, Any]:
    """(set(key, bytes), delete(key)) with the store's own client library, behind qv's back."""
    url = store.url
    if url.scheme == "sqlite":
        import sqlite3

        def sset(key: str, value: bytes) -> None:
            with sqlite3.connect(url.path) as db:
                db.execute("insert or replace into kv values (?, ?)", (key, value.decode()))

        def sdel(key: str) -> None:
            with sqlite3.connect(url.path) as db:
                db.execute("delete from kv where key = ?", (key,))

        return sset, sdel
    if url.scheme == "redis":
        import redis

        client = redis.Redis(port=url.port)
        return client.set, client.delete
    import base64

    import httpx

    base = f"http://127.0.0.1:{url.port}"

    def eset(key: str, value: bytes) -> None:
        body = {"key": base64.b64encode(key.encode()).decode()}
        httpx.post(f"{base}/v3/kv/put", json={**body, "value": base64.b64encode(value).decode()})

    def edel(key: str) -> None:
        httpx.post(
            f"{base}/v3/kv/deleterange", json={"key": base64.b64encode(key.encode()).decode()}
        )

    return eset, edel


def test_digest_of_matches_the_renderer() -> None:
    from qv_config.render.desired import digest

    values = vals("r1", 50)
    assert digest_of(full_hashes(values)) == digest(values)


def test_one_key_change_is_planned_from_the_index(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    apply(store, state("r1", vals("r1", 600)))
    result = apply(store, state("r2", vals("r2", 600, changed=(7,))))
    assert result.plan.changed == (f"{ENV}/config/svc-00007",)
    assert result.plan.unchanged == 599
    assert dict(store.read(ENV).values) == vals("r2", 600, changed=(7,))


def test_lost_or_stale_index_falls_back_to_reading_values(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    prefix = store.url.prefix
    put, delete = raw_client(store)
    apply(store, state("r1", vals("r1", 20)))
    delete(f"{prefix}/{ENV}/_index")  # lost: planned from the values, still minimal
    result = apply(store, state("r2", vals("r2", 20, changed=(3,))))
    assert result.plan.changed == (f"{ENV}/config/svc-00003",)
    put(f"{prefix}/{ENV}/_index", b'{"digest":"other","count":1,"shards":{}}')  # stale
    result = apply(store, state("r3", vals("r2", 21, changed=(3,))))
    assert (result.plan.added, result.plan.changed) == ((f"{ENV}/config/svc-00020",), ())
    put(f"{prefix}/{ENV}/_index", b"not json at all")
    result = apply(store, state("r4", vals("r2", 19, changed=(3,))))
    assert result.plan.deletes == (f"{ENV}/config/svc-00019", f"{ENV}/config/svc-00020")
    assert result.plan.changed == ()
    assert dict(store.read(ENV).values) == vals("r2", 19, changed=(3,))


def test_index_survives_shard_count_changes(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    for rev, n in (("r1", 10), ("r2", 1200), ("r3", 300), ("r4", 5)):
        result = apply(store, state(rev, vals(rev, n, changed=(1,))))
        assert dict(store.read(ENV).values) == vals(rev, n, changed=(1,))
    assert len(result.plan.deletes) == 295


def test_out_of_band_edit_is_not_hidden_by_the_index(store_url: str, tmp_path: Path) -> None:
    """The index plans applies; heal reads the values, so an edit behind qv's back is restored."""
    store = open_store(store_url, tmp_path)
    put, _ = raw_client(store)
    desired = state("r1", vals("r1", 5))
    apply(store, desired)
    put(f"{store.url.prefix}/{ENV}/config/svc-00002", b'{"hacked":true}')
    healed = apply(store, desired, heal=True)
    assert healed.plan.changed == (f"{ENV}/config/svc-00002",)
    assert dict(store.read(ENV).values) == desired.values


def test_lease_one_holder_renew_release_and_expiry(store_url: str, tmp_path: Path) -> None:
    a, b = open_store(store_url, tmp_path), open_store(store_url, tmp_path)
    assert a.acquire_lease(ENV, "agent-a", 2)
    assert not b.acquire_lease(ENV, "agent-b", 2)
    assert a.acquire_lease(ENV, "agent-a", 2)  # taking it again is a renewal
    assert a.renew_lease(ENV, "agent-a", 2)
    assert not b.renew_lease(ENV, "agent-b", 2)
    a.release_lease(ENV, "agent-a")
    assert b.acquire_lease(ENV, "agent-b", 2)
    assert not a.renew_lease(ENV, "agent-a", 2)
    b.release_lease(ENV, "agent-a")  # not the holder: a no-op
    assert not a.acquire_lease(ENV, "agent-a", 2)
    deadline = time.monotonic() + 8  # b stops renewing: after the TTL a takes over
    while not a.acquire_lease(ENV, "agent-a", 2):
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.2)
    assert not b.renew_lease(ENV, "agent-b", 2)
    a.release_lease(ENV, "agent-a")


def test_lease_taken_again_by_its_holder_through_another_connection(
    store_url: str, tmp_path: Path
) -> None:
    # An agent whose connection forgot its lease (reconnected after a store outage) takes it
    # back at once, on every backend; another holder still cannot.
    first = open_store(store_url, tmp_path)
    assert first.acquire_lease(ENV, "agent-a", 5)
    again = open_store(store_url, tmp_path)
    assert again.acquire_lease(ENV, "agent-a", 5)
    assert again.renew_lease(ENV, "agent-a", 5)
    assert not open_store(store_url, tmp_path).acquire_lease(ENV, "agent-b", 5)
    again.release_lease(ENV, "agent-a")
    assert open_store(store_url, tmp_path).acquire_lease(ENV, "agent-b", 5)


def test_lease_keys_are_not_values(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    apply(store, state("r1", vals("r1", 3)))
    assert store.acquire_lease(ENV, "agent-a", 5)
    assert set(store.read(ENV).values) == set(vals("r1", 3))
    store.release_lease(ENV, "agent-a")
