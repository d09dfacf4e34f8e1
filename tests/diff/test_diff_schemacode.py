"""`qv diff` of sides that validate or not: the same answer cold, warm and after ``.qv/`` is
deleted; no compiled schema code is kept on disk (issue 10: no cache holds executable code)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.diff.conftest import Repo
from tests.qvbin import QV

SERVICE = "environments/prod/configs/example-service.yaml"


def _diff(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QV, "-C", str(repo.root), "diff", *args], check=False, capture_output=True, text=True
    )


def _code_files(repo: Repo) -> list[Path]:
    return sorted((repo.root / ".qv" / "cache" / "schemacode").glob("*.bin"))


def _drop_render_cache(repo: Repo) -> None:
    shutil.rmtree(repo.root / ".qv" / "cache" / "render", ignore_errors=True)


def test_invalid_side_is_named_cold_warm_and_with_a_damaged_cache(repo: Repo) -> None:
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: -1")
    cold = _diff(repo, "prod@main", "prod")
    assert cold.returncode == 1
    assert "side prod is invalid" in cold.stderr
    assert "QV310" in cold.stderr
    assert "Traceback" not in cold.stderr
    assert not _code_files(repo), "no compiled schema code is kept"
    warm = _diff(repo, "prod@main", "prod")
    assert (warm.returncode, warm.stderr) == (cold.returncode, cold.stderr)


def test_valid_change_reads_the_same_from_the_cache(repo: Repo) -> None:
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: 3000000")
    repo.commit("Raise the notional")
    cold = _diff(repo, "prod@HEAD~1", "prod")
    assert cold.returncode == 0, cold.stderr
    assert "max_order_notional" in cold.stdout
    _drop_render_cache(repo)  # the rendered states would answer without validating
    warm = _diff(repo, "prod@HEAD~1", "prod")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    assert not _code_files(repo)


def test_deleted_state_folder_is_safe(repo: Repo) -> None:
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: 3000000")
    first = _diff(repo, "prod@main", "prod")
    shutil.rmtree(repo.root / ".qv", ignore_errors=True)
    second = _diff(repo, "prod@main", "prod")
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert second.returncode == 0, second.stderr
