"""A Redis apply script that would fail half-way must write nothing (real redis-server).

Redis does not roll a Lua script back when a command inside it fails: writes made before the
failing command stay. qv's commit script therefore checks everything that could make a later
command fail (the audit and event keys must be streams) before its first write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qv_config.store import StoreError, apply_desired, open_store
from qv_config.store.layout import digest_of, full_hashes
from qv_config.store.types import DesiredState


def desired(rev: str, n: int = 3) -> DesiredState:
    values = {f"dev/config/c{i}": json.dumps({"rev": rev, "i": i}).encode() for i in range(n)}
    hashes = full_hashes(values)
    return DesiredState("dev", rev, digest_of(hashes), values, hashes)


@pytest.mark.parametrize("broken", ["_audit", "_events"])
def test_wrong_type_audit_or_event_key_writes_nothing(
    redis_server: Any, tmp_path: Path, broken: str
) -> None:
    import redis

    url = f"{redis_server.url}?prefix=partial{broken}"
    store = open_store(url, tmp_path)
    kw: dict[str, Any] = {"is_descendant": lambda old, new: True, "applied_by": "t"}
    apply_desired(store, desired("r1"), **kw)
    before = store.read("dev")
    client = redis.Redis(port=redis_server.port)
    client.delete(f"partial{broken}/dev/{broken}")
    client.set(f"partial{broken}/dev/{broken}", "not a stream")  # an operator's mistake
    with pytest.raises(StoreError) as err:
        apply_desired(store, desired("r2"), **kw)
    assert f"partial{broken}/dev/{broken}" in str(err.value)
    assert "stream" in str(err.value)
    assert "DEL" in (err.value.hint or "")
    assert "nothing was written" in str(err.value)
    assert "user_script" not in str(err.value)
    after = store.read("dev")
    assert (after.meta_raw, dict(after.values)) == (before.meta_raw, dict(before.values))
    assert client.get(f"partial{broken}/dev/_index") == store.read_index("dev").index_raw
    client.delete(f"partial{broken}/dev/{broken}")  # repaired as the hint says: applies again
    assert apply_desired(store, desired("r2"), **kw).status == "applied"
    store.close()


def test_sync_reports_it_in_one_line_exit_3(
    redis_server: Any, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    import qv_config.cli.sync  # noqa: F401 - registers the command on the app
    from qv_config.cli.__main__ import main

    url = f"{redis_server.url}?prefix=partialcli"
    redis.Redis(port=redis_server.port).set("partialcli/dev/_events", "x")
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(project), "sync", "--env", "dev", "--store", url])
    err = capsys.readouterr().err
    assert stop.value.code == 3
    assert "nothing was written" in err
    assert "redis-cli DEL partialcli/dev/_events" in err
    assert "Traceback" not in err
    assert redis.Redis(port=redis_server.port).get("partialcli/dev/_meta") is None
