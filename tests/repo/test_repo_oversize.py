"""A file over the size limit is reported from its stat, never read: by the loader with or without
its caches, and never by the worker processes of a cold load.

The file is a sparse 1 GiB file (no disk space): reading it would raise the reader's peak
resident memory past 1 GiB, which ``getrusage`` shows for this process and for its waited-for
children (the forked workers)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest
from tests.starter import aged_starter

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.repo import prefetch as workers

GIB = 1 << 30
BIG = "environments/dev/configs/huge.yaml"


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    aged_starter(root)
    with (root / BIG).open("wb") as out:
        out.truncate(GIB)  # sparse: a size, no data
    return root


def _size_finding(root: Path, use_cache: bool) -> None:
    snapshot = load_snapshot(WorkTreeSource(root), use_cache=use_cache)
    found = [f for f in snapshot.findings if f.file == BIG]
    assert [f.code for f in found] == ["QV106"]
    assert f"the file is {GIB} bytes" in found[0].message


@pytest.mark.parametrize("use_cache", [True, False])
def test_the_loader_reports_a_huge_file_without_reading_it(tree: Path, use_cache: bool) -> None:
    if _peak_mb(resource.RUSAGE_SELF) > 900:
        pytest.skip("this test process already peaked near 1 GiB: the check would prove nothing")
    _size_finding(tree, use_cache)
    assert _peak_mb(resource.RUSAGE_SELF) < 900


def test_cold_load_workers_never_read_a_huge_file(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _peak_mb(resource.RUSAGE_CHILDREN) > 900:
        pytest.skip("a child of this test process already peaked near 1 GiB")
    monkeypatch.setattr(workers, "_MIN_FILES", 0)  # the forked workers even for a small tree
    monkeypatch.delenv("QV_JOBS", raising=False)
    assert (os.cpu_count() or 1) >= 2
    _size_finding(tree, use_cache=True)
    assert _peak_mb(resource.RUSAGE_CHILDREN) < 900
