"""``validate.api.check_rendered``: the stages of ``qv validate`` on documents a tool rendered
itself (``qv diff``); no compiled schema code is kept on disk."""

from __future__ import annotations

from pathlib import Path

from tests.validate.conftest import make_doc, make_env
from tests.validate.test_validate_rules import STRATEGY as RULES_STRATEGY

from qv_config.validate.api import check_rendered

SCHEMA = b'{"type": "object", "properties": {"pool": {"type": "integer", "maximum": 10}}}'
# A valid strategy, but for its risk policy, which no document defines.
STRATEGY = {**RULES_STRATEGY, "risk_policy": "missing-policy"}


def _read(path: str) -> bytes | None:
    return SCHEMA if path == "schemas/configs/svc.schema.json" else None


def test_documents_only_checks_each_document_but_not_across(tmp_path: Path) -> None:
    env = make_env(
        "dev",
        make_doc("dev", "Config", "svc", {"pool": 11}),
        make_doc("dev", "Strategy", "s", STRATEGY),
    )
    alone = check_rendered([env], _read, documents_only=True, root=tmp_path)
    whole = check_rendered([env], _read, root=tmp_path)
    assert [(f.code, f.field) for f in alone if f.kind == "Config"] == [("QV310", "spec.pool")]
    assert all(f.code < "QV500" for f in alone)
    # The unresolved risk_policy is a cross-document finding (QV5xx): only the whole check has it.
    assert any(f.code >= "QV500" and f.name == "s" for f in whole)
    assert not list((tmp_path / ".qv" / "cache" / "schemacode").glob("*.bin"))
