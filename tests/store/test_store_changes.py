"""The change feed of every store (Store.change_position / changes), which ConfigClient
follows: an apply after the position is yielded, a quiet store returns after ``idle``, and etcd
says so when the history after a position was compacted."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from qv_config.render.desired import digest
from qv_config.store import DesiredState, apply_desired, open_store
from qv_config.store.errors import ChangesLost


def _apply(url: str, root: Path, n: int) -> None:
    values = {"dev/config/oms": json.dumps({"n": n}).encode()}
    store = open_store(url, root)
    try:
        state = DesiredState("dev", f"{n:040x}", digest(values), values)
        apply_desired(store, state, is_descendant=lambda _a, _b: True, applied_by="t@x")
    finally:
        store.close()


def test_an_apply_after_the_position_is_yielded(store_url: str, tmp_path: Path) -> None:
    _apply(store_url, tmp_path, 1)
    store = open_store(store_url, tmp_path)
    try:
        position = store.change_position("dev")
        start = time.monotonic()
        assert list(store.changes("dev", position, 0.3)) == []  # quiet: returns after idle
        assert 0.25 < time.monotonic() - start < 3
        _apply(store_url, tmp_path, 2)  # committed before the feed is read: still yielded
        moved = next(iter(store.changes("dev", position, 5)))
        assert moved != position
        assert list(store.changes("dev", moved, 0.3)) == []  # nothing after it
    finally:
        store.close()


def test_etcd_compacted_history_is_changes_lost(etcd_server: Any, tmp_path: Path) -> None:
    url = f"{etcd_server.url}?prefix=feed{tmp_path.name[-6:]}"
    _apply(url, tmp_path, 1)
    store = open_store(url, tmp_path)
    try:
        position = store.change_position("dev")
        _apply(url, tmp_path, 2)
        _apply(url, tmp_path, 3)  # compacting at the current revision keeps only it
        revision = int(store.change_position("dev")) - 1
        subprocess.run(
            ["etcdctl", f"--endpoints=127.0.0.1:{etcd_server.port}", "compact", str(revision)],
            check=True,
            capture_output=True,
        )
        with pytest.raises(ChangesLost, match="compacted"):
            list(store.changes("dev", position, 2))
    finally:
        store.close()
