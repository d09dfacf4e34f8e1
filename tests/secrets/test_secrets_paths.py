"""Secret paths are the schema's marks and the leaves the repository holds encrypted: a value
sops encrypts by ``.sops.yaml``'s ``encrypted_regex`` (``api_key``) in a field no schema marks
is never shown by ``qv drift`` nor served to a reader without ``secrets:read``.
History: ``tests.diff.secretrepo.build_unmarked_history`` (its work tree at C2)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from qv_config.secrets.paths import covers
from tests.diff.secretrepo import VENDOR, VENDOR_NEW, History, build_unmarked_history
from tests.inprocess import run_qv

OMS = "qv/dev/config/order-management"
EDITED = "edited-out-of-band-7e6f"


@pytest.fixture(scope="module")
def unmarked(tmp_path_factory: pytest.TempPathFactory) -> History:
    return build_unmarked_history(tmp_path_factory.mktemp("paths") / "repo")


def _store_doc(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute("SELECT value FROM kv WHERE key = ?", (OMS,)).fetchone()
    loaded: dict[str, object] = json.loads(raw)
    return loaded


def test_drift_never_shows_a_value_held_encrypted(
    capsys: pytest.CaptureFixture[str], unmarked: History, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    key = ("--key-file", str(unmarked.key), "--store", f"sqlite:{db}")
    assert run_qv(capsys, unmarked.root, "sync", "--env", "dev", *key).code == 0
    doc = _store_doc(db)
    assert VENDOR_NEW in json.dumps(doc)  # services read plaintext
    doc["spec"]["extra"]["vendor"]["api_key"] = EDITED  # type: ignore[index]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE kv SET value = ? WHERE key = ?", (json.dumps(doc), OMS))
    shown = []
    for fmt in ("text", "json"):
        done = run_qv(capsys, unmarked.root, "drift", "--env", "dev", *key, "--format", fmt)
        assert done.code == 1
        shown.append(done.out + done.err)
        assert VENDOR_NEW not in shown[-1]
        assert EDITED not in shown[-1]
    assert f"{VENDOR}: (secret changed)" in shown[0]
    fields = json.loads(shown[1])["modified_fields"]
    assert {"path": VENDOR, "secret": True, "note": "(secret changed)"} in fields[
        "dev/config/order-management"
    ]


def test_served_documents_mask_a_value_held_encrypted(unmarked: History) -> None:
    from qv_config.serve.masking import MASK, SecretMarks, mask

    marks = SecretMarks(unmarked.root, "dev")
    doc = {
        "kind": "Config",
        "metadata": {"name": "order-management"},
        "spec": {"extra": {"vendor": {"api_key": VENDOR_NEW}}, "port": 1},
    }
    shown, masked = mask(doc, marks.patterns(doc))
    assert masked
    assert shown["spec"] == {"extra": {"vendor": {"api_key": MASK}}, "port": 1}


def test_covers_a_secret_path_and_what_holds_one() -> None:
    patterns = {("spec", "vendors", "*", "api_key")}
    assert covers(patterns, ("spec", "vendors", 3, "api_key"))
    assert covers(patterns, ("spec", "vendors", 3))
    assert covers(patterns, ("spec",))
    assert not covers(patterns, ("spec", "vendors", 3, "url"))
    assert not covers(patterns, ("spec", "port"))
