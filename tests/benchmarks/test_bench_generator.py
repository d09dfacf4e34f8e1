"""Smoke test of the benchmark repository generator: its output loads and validates cleanly."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from qv_config.yamlio import load_bytes

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "benchmarks" / "gen_repo.py"
QV = Path(sys.executable).parent / "qv"
DOCS = 60


def _generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(GEN), str(out), "--docs", str(DOCS), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "repo"
    result = _generate(out, "--git")
    assert result.returncode == 0, result.stderr
    return out


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if ".git" not in p.parts)


def test_bench_generator_counts_documents(repo: Path) -> None:
    docs = [p for p in _yaml_files(repo) if p.relative_to(repo).parts[0] != "templates"]
    docs = [p for p in docs if p.name != "qv.yaml" or p.parent != repo]
    assert len(docs) == DOCS
    kinds = {p.relative_to(repo).parts[0] for p in _yaml_files(repo)}
    assert kinds == {"environments", "strategies", "templates", "qv.yaml"}
    assert len(list((repo / "schemas" / "configs").glob("*.schema.json"))) >= 3


def test_bench_generator_files_load(repo: Path) -> None:
    for path in _yaml_files(repo):
        rel = path.relative_to(repo).as_posix()
        loaded = load_bytes(rel, path.read_bytes())
        assert isinstance(loaded.data, dict), rel


def test_bench_generator_is_deterministic(repo: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert _generate(again).returncode == 0
    first = {p.relative_to(repo): p.read_bytes() for p in _yaml_files(repo)}
    second = {p.relative_to(again): p.read_bytes() for p in _yaml_files(again)}
    assert first == second


def test_bench_generator_commits_with_git(repo: Path) -> None:
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--oneline"], capture_output=True, text=True, check=True
    )
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


def test_bench_generator_rejects_too_few_docs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(GEN), str(tmp_path / "x"), "--docs", "5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--docs must be at least" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_generator_repo_validates(repo: Path) -> None:
    # Skips only while `qv validate` has not landed; once qv_config.validate.validate exists,
    # a generated repository that does not validate cleanly is a failure.
    if not hasattr(importlib.import_module("qv_config.validate"), "validate"):
        pytest.skip("qv_config.validate.validate has not landed yet")
    result = subprocess.run(
        [str(QV), "-C", str(repo), "validate"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
