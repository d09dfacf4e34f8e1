"""A first sync's parse memo is written while its render workers run, not before them: until
then the parsed values stay in memory, where the workers read them (issue 10: a first sync of
50,000 documents). The values deployed are those of one process, and the memo serves the next
load whole."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.repo import prefetch
from qv_config.store.source import render_desired


def _spy(monkeypatch: pytest.MonkeyPatch, memo: Path) -> list[tuple[bool, bool, bool]]:
    """Per fork of workers: (given work of its own, memo written before, memo written after)."""
    calls: list[tuple[bool, bool, bool]] = []
    real = prefetch.forked

    def forked(job: Any, items: Any, meanwhile: Callable[[], None] | None, **kw: Any) -> Any:
        before = memo.exists()
        done = real(job, items, meanwhile, **kw)
        calls.append((meanwhile is not None, before, memo.exists()))
        return done

    monkeypatch.setattr(prefetch, "forked", forked)  # the parse workers', the render workers'
    return calls


def test_the_parse_memo_is_written_while_the_render_workers_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    monkeypatch.setenv("QV_JOBS", "1")
    alone = render_desired(project, "dev", "HEAD")
    shutil.rmtree(project / ".qv")  # the next run is a cold one
    monkeypatch.delenv("QV_JOBS")
    calls = _spy(monkeypatch, project / ".qv" / "cache" / "parse.qvc")
    mine: list[bool] = []  # the caller's own work: done while the render workers run
    forked = render_desired(project, "dev", "HEAD", meanwhile=lambda: mine.append(len(calls) == 1))
    assert mine == [True]
    parse, render = calls  # the parse workers, then the render workers
    assert parse == (True, False, False)  # the renderer is prepared meanwhile; no memo yet
    assert render == (True, False, True)  # written during the render workers' run
    assert (forked.digest, dict(forked.values)) == (alone.digest, dict(alone.values))
    calls.clear()
    again = render_desired(project, "dev", "HEAD")  # every value from the memo
    assert calls == []  # nothing parsed again, nothing rendered in workers (the memos answer)
    assert (again.digest, dict(again.values)) == (alone.digest, dict(alone.values))
