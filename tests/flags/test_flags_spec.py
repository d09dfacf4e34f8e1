"""Every file of Unleash's client specification, every case, through qv's evaluator."""

from __future__ import annotations

from pathlib import Path

import pytest

from qv_config.flags import compile_state
from tests.flags.specfiles import load, require_specs, spec_dir, spec_files

FILES = spec_files()
IDS = [p.name for p in FILES]


def test_specification_folder_is_there() -> None:
    """Fails under CI=true without the folder, so a missing folder never passes silently."""
    assert len(require_specs()) >= 18


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_specification_file(path: Path) -> None:
    suite = load(path)
    state = compile_state(suite["state"])
    failures = []
    for case in suite.get("tests") or []:
        got = state.is_enabled(case["toggleName"], case["context"])
        if got is not case["expectedResult"]:
            failures.append(f"{case['description']}: expected {case['expectedResult']}, got {got}")
    for case in suite.get("variantTests") or []:
        got = state.variant(case["toggleName"], case["context"])
        want = case["expectedResult"]
        expected = {
            "name": want["name"],
            "enabled": want["enabled"],
            "feature_enabled": want.get("feature_enabled", want.get("featureEnabled")),
            "payload": want.get("payload"),
        }
        if got != expected:
            failures.append(f"{case['description']}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


def test_a_missing_folder_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QV_UNLEASH_SPEC_DIR", str(tmp_path / "absent"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="QV_UNLEASH_SPEC_DIR"):
        require_specs()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_specs()
    assert spec_dir() is None
