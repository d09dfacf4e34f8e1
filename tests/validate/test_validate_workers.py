"""Checking an environment in two forked workers (``validate.rendered``: thousands of documents)
gives exactly what one process gives: findings, counts, memo, the values ``qv sync`` takes, on
every case tree; a duplicate name split between the halves is still QV220."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.repo import WorkTreeSource, load_snapshot, prefetch
from qv_config.validate import ValidationResult
from qv_config.validate.api import validate_checked

from .conftest import CASES, same_result

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "qv.yaml").is_file())


def checked(root: Path, monkeypatch: pytest.MonkeyPatch, jobs: str, cache: bool = False) -> object:
    from qv_config.progress import NO_PROGRESS
    from qv_config.render.desired import canonical

    monkeypatch.setenv("QV_JOBS", jobs)
    snapshot = load_snapshot(WorkTreeSource(root), use_cache=False)
    return validate_checked(snapshot, None, (), cache, NO_PROGRESS, value_of=canonical)


def summary(found: object) -> tuple[object, ...]:
    result: ValidationResult = found.result  # type: ignore[attr-defined]
    stats = (result.stats.validated, result.stats.cached)
    return stats, found.values, found.rendered  # type: ignore[attr-defined]


def _forking_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """A copy of a case tree, checked in workers however few its documents."""
    root = tmp_path / name
    shutil.copytree(CASES / name, root, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    return root


@pytest.mark.parametrize("name", CASE_NAMES)
def test_two_workers_give_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = _forking_case(tmp_path, monkeypatch, name)
    one = checked(root, monkeypatch, "1")
    forks = []
    real = prefetch.forked

    def forked(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("then") is not None:  # the render workers (not the parse workers)
            forks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(prefetch, "forked", forked)
    two = checked(root, monkeypatch, "2")
    assert forks  # the workers did the work
    same_result(two.result, one.result)  # type: ignore[attr-defined]
    assert summary(two) == summary(one)


def test_a_memo_written_by_workers_serves_one_process(
    case_tree: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = case_tree("qv310-config-schema")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    cold = checked(root, monkeypatch, "2", cache=True)
    warm = checked(root, monkeypatch, "1", cache=True)
    same_result(warm.result, cold.result)  # type: ignore[attr-defined]
    assert warm.result.stats.validated == 0  # type: ignore[attr-defined]


def test_a_duplicate_split_between_the_halves_is_found(
    case_tree: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = case_tree("valid")
    config = root / "environments/dev/configs/oms.yaml"
    for at in range(6):  # copies enough for the two to land in either half
        shutil.copy(config, root / f"environments/dev/configs/copy-{at}.yaml")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    one = checked(root, monkeypatch, "1")
    two = checked(root, monkeypatch, "2")
    assert "QV220" in {f.code for f in two.result.findings}  # type: ignore[attr-defined]
    same_result(two.result, one.result)  # type: ignore[attr-defined]
    assert summary(two) == summary(one)


def _facts(root: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> dict[str, object]:
    """Every environment's facts as the cross-document rules get them."""
    from datetime import date

    from qv_config.cache.results import Results
    from qv_config.validate import incremental
    from qv_config.validate.api import run_state

    monkeypatch.setenv("QV_JOBS", jobs)
    snapshot = load_snapshot(WorkTreeSource(root), use_cache=False)
    run = run_state(snapshot, Results(None), date(2026, 12, 7))
    out: dict[str, object] = {}
    for env in snapshot.env_names:
        plan = incremental.plan_env(snapshot, env, run)
        state, _ = incremental._render_and_check(snapshot, plan, run)
        out[env] = incremental._all_facts(state)
    return out


@pytest.mark.parametrize(
    "name", ["valid", "qv510-strategy-limit-above-policy", "qv541-qv542-kill-switch"]
)
def test_the_facts_workers_send_are_those_one_process_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    root = _forking_case(tmp_path, monkeypatch, name)
    one = _facts(root, monkeypatch, "1")
    two = _facts(root, monkeypatch, "2")
    assert any(one.values())
    assert two == one
    assert [list(facts) for facts in two.values()] == [list(facts) for facts in one.values()]
