"""`qv schema export` end to end, in a real temporary project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

QV = str(Path(sys.executable).with_name("qv"))
SLUGS = [
    "approval-policy", "config", "environment", "execution-policy", "flag", "project",
    "risk-policy", "strategy",
]  # fmt: skip


def _qv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QV, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "environments" / "dev").mkdir(parents=True)
    (root / "qv.yaml").write_text(
        "apiVersion: qv/v1\nkind: Project\nmetadata: {name: demo}\nspec: {environments: [dev]}\n",
        encoding="utf-8",
    )
    return root


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def test_export_writes_schemas_under_the_project_root(project: Path) -> None:
    result = _qv("-C", str(project / "environments" / "dev"), "schema", "export")
    assert result.returncode == 0, result.stderr
    out = project / "schemas" / "qv"
    assert sorted(p.name for p in out.iterdir()) == [f"{s}.schema.json" for s in SLUGS]
    for slug in SLUGS:
        assert str(out / f"{slug}.schema.json") in result.stdout
    check = _qv("-C", str(project), "schema", "export", "--check")
    assert check.returncode == 0, check.stderr
    assert "up to date" in check.stdout


def test_check_fails_after_tampering_and_writes_nothing(project: Path) -> None:
    assert _qv("-C", str(project), "schema", "export").returncode == 0
    tampered = project / "schemas" / "qv" / "strategy.schema.json"
    tampered.write_text(tampered.read_text(encoding="utf-8").replace("ceiling", "floor"))
    (project / "schemas" / "qv" / "flag.schema.json").unlink()
    before = tampered.read_bytes()
    result = _qv("-C", str(project), "schema", "export", "--check")
    assert result.returncode == 1
    assert "strategy.schema.json" in result.stderr
    assert "flag.schema.json" in result.stderr
    assert "run `qv schema export`" in result.stderr
    assert "config.schema.json" not in result.stderr
    assert tampered.read_bytes() == before
    assert not (project / "schemas" / "qv" / "flag.schema.json").exists()
    _no_traceback(result)


def test_out_option_is_relative_to_the_project_dir(project: Path) -> None:
    result = _qv("-C", str(project), "schema", "export", "--out", "build/schemas")
    assert result.returncode == 0, result.stderr
    assert (project / "build" / "schemas" / "strategy.schema.json").is_file()
    assert not (project / "schemas").exists()


def test_without_a_project_is_a_usage_error(tmp_path: Path) -> None:
    result = _qv("-C", str(tmp_path), "schema", "export")
    assert result.returncode == 2
    assert "no qv.yaml" in result.stderr
    assert "qv init" in result.stderr
    _no_traceback(result)


def test_unwritable_out_dir_is_an_operational_error(project: Path) -> None:
    (project / "blocker").write_text("a file, not a directory")
    result = _qv("-C", str(project), "schema", "export", "--out", "blocker/qv")
    assert result.returncode == 3
    assert "cannot write schemas" in result.stderr
    assert "--out" in result.stderr
    _no_traceback(result)
