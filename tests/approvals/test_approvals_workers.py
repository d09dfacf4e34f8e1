"""The states an approval binds, rendered in forked workers (thousands of documents) or here:
the same digests, the same verdict; a state with a document named twice is refused either way."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from qv_config.repo import prefetch
from tests.approvals.conftest import Repo

RISK = "environments/prod/risk-policies/equity-standard.yaml"


def _both(repo: Repo, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[tuple[int, str, str]]:
    """``qv approvals`` in this process (QV_JOBS=1) and in workers, each without caches."""
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)  # workers even for a small repository
    forked: list[int] = []
    real = prefetch.in_workers

    def counted(job: Any, items: Any, *args: Any, **kwargs: Any) -> Any:
        if all(isinstance(i, tuple) and isinstance(i[0], int) for i in items):
            forked.append(len(items))  # approvals.rendering's parts (which snapshot, files)
        return real(job, items, *args, **kwargs)

    monkeypatch.setattr(prefetch, "in_workers", counted)
    answers = []
    for jobs in ("1", ""):
        shutil.rmtree(repo.root / ".qv", ignore_errors=True)
        monkeypatch.setenv("QV_JOBS", jobs)
        done = repo.qv("approvals", *args)
        answers.append((done.code, done.out, done.err))
        assert bool(forked) == (jobs == ""), forked  # the second run rendered in workers
    return answers


def test_workers_and_this_process_agree(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.edit(RISK, "max_drawdown_pct: 10", "max_drawdown_pct: 9")
    repo.loosen_prod()
    assert repo.approve("alice", base).code == 0
    here, apart = _both(repo, monkeypatch, "--env", "prod", "--base", base, "--format", "json")
    assert here == apart
    verdict = json.loads(here[1])["environments"][0]
    assert verdict["approvers"] == ["alice@example.com"]


def test_a_document_named_twice_is_refused_either_way(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (repo.root / RISK).read_text(encoding="utf-8")
    repo.write("environments/prod/risk-policies/zz-copy.yaml", text)  # the same kind and name
    base = repo.commit("a second equity-standard in prod")
    repo.edit(RISK, "max_drawdown_pct: 10", "max_drawdown_pct: 9")
    repo.commit("tighten")
    here, apart = _both(repo, monkeypatch, "--env", "prod", "--base", base)
    assert here == apart
    assert here[0] == 1
    assert "does not render" in here[2]
    assert "zz-copy.yaml" in here[2] or "equity-standard.yaml" in here[2]
