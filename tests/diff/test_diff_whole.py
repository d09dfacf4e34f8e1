"""A diff of two whole environments: rendered side by side in forked workers or here, checked
by every stage or through the validation memo, the same answer; an invalid side is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from qv_config.repo import prefetch

Qv = Callable[..., Any]
Repo = Any


def _fresh(repo: Repo) -> None:
    shutil.rmtree(repo.root / ".qv", ignore_errors=True)


@pytest.mark.parametrize("validated", [False, True], ids=["no-memo", "after-validate"])
def test_forked_and_in_process_renders_agree(
    repo: Repo, qv: Qv, monkeypatch: pytest.MonkeyPatch, validated: bool
) -> None:
    answers = []
    for jobs in ("1", ""):
        _fresh(repo)
        monkeypatch.setenv("QV_JOBS", jobs)
        monkeypatch.setattr(prefetch, "_MIN_FILES", 0)  # workers even for the small starter
        if validated:
            assert qv(repo.root, "validate").code == 0
        done = qv(repo.root, "diff", "staging", "prod", "--all", "--format", "json")
        assert done.code == 0, done.err
        answers.append(json.loads(done.out))
    assert answers[0] == answers[1]
    assert answers[0]["changes"]


@pytest.mark.parametrize("validated", [False, True], ids=["no-memo", "after-validate"])
def test_an_invalid_side_is_refused(
    repo: Repo, qv: Qv, monkeypatch: pytest.MonkeyPatch, validated: bool
) -> None:
    repo.replace(
        "environments/prod/risk-policies/example-standard.yaml",
        "trading_state: active",
        "trading_state: paused",
    )
    repo.commit("an unknown trading state in prod")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    if validated:
        assert qv(repo.root, "validate").code == 1  # the memo then holds prod's error
    done = qv(repo.root, "diff", "staging", "prod")
    assert done.code == 1
    assert "side prod is invalid" in done.err
    assert "example-standard.yaml" in done.err
