"""`qv diff` with the compiled-schema cache under .qv/cache/schemacode/: the same answer cold,
from the cache, and from a damaged cache (each run a fresh process: validators are also
memoised per process)."""

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
    files = _code_files(repo)
    assert files, "the schema's compiled code is kept for the next run"
    warm = _diff(repo, "prod@main", "prod")
    assert (warm.returncode, warm.stderr) == (cold.returncode, cold.stderr)
    for path in files:
        path.write_bytes(b"qv-schemacode-1\n" + bytes(40))
    damaged = _diff(repo, "prod@main", "prod")
    assert (damaged.returncode, damaged.stderr) == (cold.returncode, cold.stderr)


def test_valid_change_reads_the_same_from_the_cache(repo: Repo) -> None:
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: 3000000")
    repo.commit("Raise the notional")
    cold = _diff(repo, "prod@HEAD~1", "prod")
    assert cold.returncode == 0, cold.stderr
    assert "max_order_notional" in cold.stdout
    _drop_render_cache(repo)  # the rendered states would answer without validating
    warm = _diff(repo, "prod@HEAD~1", "prod")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    assert _code_files(repo)


def test_deleted_state_folder_is_safe(repo: Repo) -> None:
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: 3000000")
    first = _diff(repo, "prod@main", "prod")
    shutil.rmtree(repo.root / ".qv")
    second = _diff(repo, "prod@main", "prod")
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert second.returncode == 0, second.stderr


def test_a_first_diff_compiles_schemas_in_the_background(repo: Repo) -> None:
    from qv_config.validate.schemacode import precompile_in_background

    broken = repo.root / "schemas" / "configs" / "broken.schema.json"
    broken.write_text("{not json")  # skipped by the worker; validation reports it if used
    schemas = sorted((repo.root / "schemas" / "configs").glob("*.schema.json"))
    wait = precompile_in_background(repo.root)
    wait()
    wait()  # waiting twice is harmless
    assert len(_code_files(repo)) == len(schemas) - 1
    before = [p.read_bytes() for p in _code_files(repo)]
    precompile_in_background(repo.root)()  # all cached: no process, nothing rewritten
    assert [p.read_bytes() for p in _code_files(repo)] == before
    broken.unlink()
    repo.replace(SERVICE, "max_order_notional: 2000000", "max_order_notional: -1")
    shutil.rmtree(repo.root / ".qv")
    first = _diff(repo, "prod@main", "prod")  # schemas compiled by the forked worker
    assert first.returncode == 1
    assert "QV310" in first.stderr
    assert "Traceback" not in first.stderr
    shutil.rmtree(repo.root / ".qv")
    fresh = subprocess.run(
        [QV, "-C", str(repo.root), "validate", "--no-cache", "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert '"QV310"' in fresh.stdout  # the same finding without any cache
