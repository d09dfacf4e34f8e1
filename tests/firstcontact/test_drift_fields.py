"""`qv drift` shows what an out-of-band edit changed (issue 14): each field path with the
deployed and the found value, secret fields masked, in text and JSON; and a plain `qv sync`
that finds drift says so and names --heal."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.inprocess import run_qv

pytestmark = pytest.mark.usefixtures("no_key")

KEY = "keys/demo-dev.agekey"
OMS = "qv/dev/config/order-management"
PLAINTEXT = "edited-behind-qvs-back"


def _edit_the_store(root: Path) -> None:
    with sqlite3.connect(root / ".qv/state.db") as db:
        (raw,) = db.execute("SELECT value FROM kv WHERE key = ?", (OMS,)).fetchone()
        doc = json.loads(raw)
        doc["spec"]["throttles"]["max_order_notional"] = 999999999
        doc["spec"]["database"]["password"] = PLAINTEXT
        del doc["spec"]["order_ttl_s"]
        db.execute("UPDATE kv SET value = ? WHERE key = ?", (json.dumps(doc), OMS))


@pytest.fixture
def drifted(capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]) -> Path:
    root = own_tree()
    assert run_qv(capsys, root, "sync", "--env", "dev", "--key-file", str(root / KEY)).code == 0
    _edit_the_store(root)
    return root


def test_drift_text_names_each_field_with_deployed_and_found_values(
    capsys: pytest.CaptureFixture[str], drifted: Path
) -> None:
    done = run_qv(capsys, drifted, "drift", "--env", "dev", "--key-file", str(drifted / KEY))
    assert done.code == 1
    assert "modified   dev/config/order-management" in done.out
    assert (
        "spec.throttles.max_order_notional: 500000 (deployed) → 999999999 (found) — loosened"
        in done.out
    )
    assert "spec.order_ttl_s: 86400 (deployed) → (absent) (found)" in done.out
    assert "spec.database.password: (secret changed)" in done.out
    assert "spec.broker.password" not in done.out  # unchanged secrets are not listed
    assert PLAINTEXT not in done.out + done.err
    assert "qv sync --env dev --heal" in done.out


def test_drift_json_has_the_same_fields_and_masks_secrets(
    capsys: pytest.CaptureFixture[str], drifted: Path
) -> None:
    done = run_qv(
        capsys, drifted, "drift", "--env", "dev", "--format", "json", "--key-file",
        str(drifted / KEY),
    )  # fmt: skip
    assert done.code == 1
    fields = json.loads(done.out)["modified_fields"]["dev/config/order-management"]
    by_path = {f["path"]: f for f in fields}
    assert by_path["spec.throttles.max_order_notional"] == {
        "path": "spec.throttles.max_order_notional",
        "op": "changed",
        "risk": "loosened",
        "deployed": 500000,
        "found": 999999999,
    }
    assert by_path["spec.order_ttl_s"]["deployed"] == 86400
    assert "found" not in by_path["spec.order_ttl_s"]
    assert by_path["spec.database.password"] == {
        "path": "spec.database.password",
        "secret": True,
        "note": "(secret changed)",
    }
    assert PLAINTEXT not in done.out


def test_drift_without_the_key_still_shows_the_plain_fields(
    capsys: pytest.CaptureFixture[str], drifted: Path
) -> None:
    done = run_qv(capsys, drifted, "drift", "--env", "dev")
    assert done.code == 1
    assert "max_order_notional: 500000 (deployed) → 999999999 (found)" in done.out
    assert "spec.database.password: (encrypted; no key to compare)" in done.out
    assert PLAINTEXT not in done.out


def test_a_plain_sync_that_finds_drift_says_so_and_names_heal(
    capsys: pytest.CaptureFixture[str], drifted: Path
) -> None:
    key = ("--key-file", str(drifted / KEY))
    plain = run_qv(capsys, drifted, "sync", "--env", "dev", *key)
    assert plain.code == 0
    assert "unchanged (same digest): nothing written" in plain.out
    assert "DRIFT: 1 key(s) edited outside qv were left as they are" in plain.out
    assert "qv sync --env dev --heal" in plain.out
    as_json = run_qv(capsys, drifted, "sync", "--env", "dev", "--format", "json", *key)
    assert json.loads(as_json.out)["drifted"] == ["dev/config/order-management"]
    healed = run_qv(capsys, drifted, "sync", "--env", "dev", "--heal", *key)
    assert healed.code == 0
    again = run_qv(capsys, drifted, "sync", "--env", "dev", *key)
    assert "DRIFT" not in again.out
    assert run_qv(capsys, drifted, "drift", "--env", "dev", *key).code == 0
