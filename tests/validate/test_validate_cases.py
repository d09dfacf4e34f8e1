"""Folder-driven tests: each ``cases/<name>/`` is a complete tree with ``expect.yaml`` listing the
findings (code, file, line, col, env) and the exit code of ``qv validate --format json``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.validate.conftest import CASES, json_findings

NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expect.yaml").is_file())


def _key(f: dict[str, Any]) -> tuple[str, str, int, int, str]:
    return (f["code"], f["file"], f["line"], f["col"], str(f["env"]))


@pytest.mark.parametrize("name", NAMES)
def test_case(
    name: str, case_tree: Callable[[str], Path], qv: Callable[..., tuple[int, str, str]]
) -> None:
    expect = yaml.safe_load((CASES / name / "expect.yaml").read_text())
    tree = case_tree(name)
    code, out, err = qv("-C", str(tree), "validate", "--format", "json")
    assert "Traceback" not in err
    got = sorted(_key(f) for f in json_findings(out))
    assert got == sorted(_key(f) for f in expect["findings"] or [])
    assert code == expect["exit"]


def test_every_rule_has_a_case() -> None:
    from qv_config.validate.registry import all_codes

    covered = set()
    for name in NAMES:
        expect = yaml.safe_load((CASES / name / "expect.yaml").read_text())
        covered |= {f["code"] for f in expect["findings"] or []}
    rules = {info.code for info in all_codes() if info.func is not None}
    # QV405 is a backstop behind the schema's order-rate pattern: tested on rules directly.
    # QV602-QV605 need real age keys and sops-encrypted files made at test time: they are tested
    # end to end in tests/secrets (test_secrets_core.py, test_secrets_errors.py).
    assert rules - covered <= {"QV405", "QV602", "QV603", "QV604", "QV605"}
