"""Incremental validation: after an edit only changed documents are rendered, and the findings are
exactly those of a fresh run without any cache (every case tree, and edits that move findings
onto documents that were not rendered again, duplicates, new files, schema edits)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.validate import ValidationResult, validate

from .conftest import CASES

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "qv.yaml").is_file())


def run(root: Path, **options: object) -> ValidationResult:
    return validate(load_snapshot(WorkTreeSource(root)), **options)  # type: ignore[arg-type]


def age(root: Path) -> None:
    """Date every file back one minute, so that the stat index trusts it (as after a checkout)."""
    old = os.stat(root).st_mtime - 60
    for path in root.rglob("*"):
        if path.is_file() and ".qv" not in path.parts:
            os.utime(path, (old, old))


def same(a: ValidationResult, b: ValidationResult) -> None:
    assert a.findings == b.findings
    assert (a.errors, a.warnings, a.documents, a.files) == (
        b.errors,
        b.warnings,
        b.documents,
        b.files,
    )


@pytest.mark.parametrize("name", CASE_NAMES)
def test_cold_warm_and_fresh_runs_agree_on_every_case(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    shutil.copytree(CASES / name, root, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
    age(root)
    fresh = run(root, use_cache=False)
    same(run(root), fresh)
    warm = run(root)
    same(warm, fresh)
    assert warm.stats.validated == 0


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


POLICY = "environments/dev/risk-policies/equity-standard.yaml"


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        # A lower policy limit: the finding lands on the strategy, which is not rendered again.
        (POLICY, "max_gross_exposure: 60000000", "max_gross_exposure: 6000000"),
        (POLICY, "trading_state: active", "trading_state: bogus"),
        ("environments/dev/configs/oms.yaml", "port: 8080", "port: eighty"),
        ("environments/dev/configs/oms.yaml", "{{ env.vars.region }}", "{{ env.vars.nope }}"),
        (
            "strategies/alpha.yaml",
            "lookback_days: {type: int, value: 120",
            "lookback_days: {type: int, value: 999",
        ),
        ("templates/strategy/base.yaml", "kind: Strategy", "kind: Strategy\nbogus: 1"),
        ("environments/dev/environment.yaml", "tier: dev", "tier: prod"),
        ("schemas/configs/oms.schema.json", '"port"', '"porty"'),
        ("qv.yaml", "name: case", "name: renamed"),
    ],
)
def test_an_edit_gives_the_findings_of_a_fresh_run(
    case_tree: Callable[[str], Path], file: str, old: str, new: str
) -> None:
    root = case_tree("valid")
    age(root)
    run(root)
    edit(root / file, old, new)
    incremental = run(root)
    same(incremental, run(root, use_cache=False))
    assert incremental.stats.cached > 0 or file == "qv.yaml"
    same(run(root), incremental)  # and once more, now from that run's cache


def test_only_the_changed_document_is_rendered(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    age(root)
    cold = run(root)
    edit(root / POLICY, "max_net_exposure: 15000000", "max_net_exposure: 15000001")
    changed = run(root)
    assert changed.stats.validated == 1
    assert changed.stats.cached == cold.stats.documents - 1


def test_the_plan_counts_what_will_be_rendered(case_tree: Callable[[str], Path]) -> None:
    # What the progress bar shows: documents to render, not documents in the tree.
    from datetime import date

    from qv_config.cache.results import Results
    from qv_config.validate.engine import RunState
    from qv_config.validate.incremental import plan_env
    from qv_config.validate.schema import SchemaStore

    root = case_tree("valid")
    age(root)

    def renders(env: str) -> int:
        snapshot = load_snapshot(WorkTreeSource(root))
        results = Results(root)
        project = snapshot.project_doc.digest if snapshot.project_doc else ""
        state = RunState(SchemaStore(snapshot.read), date.today(), project)
        return len(plan_env(snapshot, env, state, results.memo(env)).todo)

    cold = renders("dev")
    assert cold == run(root, envs=["dev"]).stats.validated - 1  # all but the Environment doc
    assert renders("dev") == 0
    edit(root / POLICY, "max_net_exposure: 15000000", "max_net_exposure: 15000001")
    assert renders("dev") == 1


def test_a_new_duplicate_of_a_reused_document_is_found(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    age(root)
    run(root)
    shutil.copy(root / POLICY, root / "environments/dev/risk-policies/copy.yaml")
    incremental = run(root)
    assert "QV220" in {f.code for f in incremental.findings}
    same(incremental, run(root, use_cache=False))


def test_new_and_removed_files(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    age(root)
    run(root)
    (root / "environments/dev/flags/kill-alpha.yaml").unlink()
    removed = run(root)
    assert "QV502" in {f.code for f in removed.findings} or removed.errors > 0
    same(removed, run(root, use_cache=False))
    shutil.copy(root / "environments/prod/flags/kill-alpha.yaml", root / "environments/dev/flags/")
    same(run(root), run(root, use_cache=False))
