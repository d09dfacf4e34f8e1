"""An audit entry written outside qv (any JSON at all) reads as an unreadable entry, never an
internal error: `qv history` and `qv rollback` read every entry of the log."""

from __future__ import annotations

import json

import pytest

from qv_config.store.layout import decode_audit, encode_audit
from qv_config.store.types import AuditEntry

GOOD = AuditEntry("apply", "dev", "a" * 40, "d" * 64, "2026-12-08T00:00:00Z", "ci")


@pytest.mark.parametrize(
    "raw",
    [
        "null",
        "[1, 2]",
        '"str"',
        "5",
        '{"action": "apply", "env": "dev", "revision": 5, "digest": 5, "at": 5, "by": 5}',
        '{"action": "apply", "env": "dev", "revision": "r", "digest": "d", "at": "t", "by": "b",'
        ' "approvals": [1]}',
        '{"action": "apply", "env": "dev", "revision": "r", "digest": "d", "at": "t", "by": "b",'
        ' "added": "many"}',
        "{not json",
    ],
)
def test_an_entry_of_another_shape_is_shown_as_unreadable(raw: str) -> None:
    entry = decode_audit(raw, "7")
    assert entry.reason.startswith("unreadable entry: ")
    assert (entry.action, entry.seq) == ("refused", "7")


def test_an_entry_qv_wrote_reads_back_as_written() -> None:
    raw = encode_audit(GOOD)
    assert decode_audit(raw, "1") == GOOD.__class__(**{**GOOD.__dict__, "seq": "1"})
    assert json.loads(raw)["revision"] == "a" * 40
