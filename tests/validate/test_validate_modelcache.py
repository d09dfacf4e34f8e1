"""The model shortcut for Config documents: an edit under ``spec`` is checked without importing
pydantic (its model takes any ``dict[str, Any]`` there; the service schema checks the values),
while any edit the model does read is checked by the model again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.starter import age

from qv_config.scaffold import write_starter

CONFIG = "environments/dev/configs/example-service.yaml"
PROBE = """\
import json, sys
from qv_config.cli.__main__ import main
try:
    main(['-C', sys.argv[1], 'validate', '--format', 'json'])
except SystemExit as stop:
    code = stop.code
sys.stderr.write(json.dumps({'code': code, 'pydantic': 'pydantic' in sys.modules}))
"""


def _validate(root: Path) -> tuple[int, bool, list[dict[str, object]]]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, check=False
    )
    status = json.loads(run.stderr.strip().splitlines()[-1])
    findings = json.loads(run.stdout)["findings"] if run.stdout.strip() else []
    return status["code"], status["pydantic"], findings


def _edit(root: Path, old: str, new: str) -> None:
    path = root / CONFIG
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    age(root)


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    write_starter(tmp_path)
    age(tmp_path)
    assert _validate(tmp_path)[0] == 0  # cold: every model checked, accepted envelopes kept
    return tmp_path


def test_a_spec_edit_needs_no_model(starter: Path) -> None:
    _edit(starter, "max_order_notional: 100000", "max_order_notional: 120000")
    code, pydantic, _ = _validate(starter)
    assert code == 0
    assert not pydantic


def test_a_spec_edit_the_service_schema_rejects_is_still_found(starter: Path) -> None:
    _edit(starter, "max_order_notional: 100000", "max_order_notional: lots")
    code, pydantic, findings = _validate(starter)
    assert code == 1
    assert not pydantic
    assert any(f["code"] == "QV310" and f["file"] == CONFIG for f in findings), findings


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("owner: team-platform", "owner: team-platform, ownr: x", "QV301"),  # envelope edit
        ("spec:\n", "spec: [1]\nx:\n", "QV301"),  # spec no longer a mapping, stray key
        ("owner: team-platform", "owner: 42", "QV303"),  # a value the model reads
    ],
)
def test_what_the_model_reads_is_checked_by_the_model(
    starter: Path, old: str, new: str, expected: str
) -> None:
    _edit(starter, old, new)
    code, pydantic, findings = _validate(starter)
    assert code == 1
    assert pydantic
    assert any(f["code"] == expected for f in findings), findings
