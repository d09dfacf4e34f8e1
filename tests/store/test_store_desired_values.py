"""A checked render of the desired state takes every value from validation when it rendered
them all (a cold sync): nothing is rendered again, not even the Environment document, and the
state is the one an unchecked render (every document rendered here) gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qv_config.render import engine
from qv_config.repo import prefetch
from qv_config.store.source import render_desired


@pytest.mark.parametrize("jobs", ["1", ""])
def test_a_checked_render_takes_every_value_from_validation(
    project: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)  # "": validated in forked workers
    monkeypatch.setenv("QV_JOBS", jobs)
    unchecked = render_desired(project, "dev", "HEAD", check=False)
    shutil.rmtree(project / ".qv")
    paths: list[object] = []  # of each render: validation's are frozensets or ()
    real = engine.render_each
    monkeypatch.setattr(
        engine, "render_each", lambda *a, **k: paths.append(k.get("paths")) or real(*a, **k)
    )
    checked = render_desired(project, "dev", "HEAD")
    assert paths  # validation rendered (through render/ itself)
    assert not any(type(p) is set for p in paths)  # store.source rendered nothing again
    assert checked.digest == unchecked.digest
    assert dict(checked.values) == dict(unchecked.values)
    assert checked.hashes == unchecked.hashes
