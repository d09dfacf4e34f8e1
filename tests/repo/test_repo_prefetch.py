"""Parsing in worker processes (cold loads of large trees) gives exactly the serial snapshot:
values, digests, !replace tags, sops blocks kept aside, and every load error as a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from qv_config.repo import WorkTreeSource, load_snapshot, prefetch
from qv_config.repo.types import Snapshot
from qv_config.scaffold import write_starter
from qv_config.yamlio import ReplaceDict


def _tree(root: Path) -> None:
    write_starter(root)
    strategies = root / "strategies"
    (strategies / "broken.yaml").write_text("a: 1\na: 2\n")
    (strategies / "latin1.yaml").write_bytes(b"a: caf\xe9\n")
    (strategies / "tagged.yaml").write_text(
        "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: tagged}\nspec: !replace {a: 1}\n"
    )
    (strategies / "sealed.yaml").write_text(
        "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: sealed}\nspec: {a: 1}\n"
        "sops: {version: 3.9.0, mac: x}\n"
    )


def _summary(snapshot: Snapshot) -> tuple[object, ...]:
    docs = {**snapshot.bases, **{f"t:{k}": v for k, v in snapshot.templates.items()}}
    for env in snapshot.environments.values():
        docs.update(env.documents)
        docs.update({f"o:{env.name}:{k}": v for k, v in env.overlays.items()})
    values = {key: (doc.path, doc.digest, doc.data) for key, doc in docs.items()}
    return values, snapshot.findings, dict(snapshot.encrypted)


def test_workers_give_the_serial_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial_root, parallel_root = tmp_path / "serial", tmp_path / "parallel"
    _tree(serial_root)
    _tree(parallel_root)
    monkeypatch.setenv("QV_JOBS", "1")
    serial = load_snapshot(WorkTreeSource(serial_root), use_cache=False)
    monkeypatch.delenv("QV_JOBS")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    forked = load_snapshot(WorkTreeSource(parallel_root))
    assert _summary(forked) == _summary(serial)
    assert {f.code for f in forked.findings} >= {"QV102", "QV107"}
    assert type(forked.bases["strategies/tagged.yaml"].data["spec"]) is ReplaceDict
    assert "sops" not in forked.bases["strategies/sealed.yaml"].data
    assert "strategies/sealed.yaml" in forked.encrypted
    doc = forked.bases["strategies/tagged.yaml"]
    assert doc.text.startswith("apiVersion")  # read from the file on demand
    assert doc.position(("spec",)) is not None
    again = load_snapshot(WorkTreeSource(parallel_root))  # from the cache the workers filled
    assert _summary(again) == _summary(serial)


def test_workers_give_the_serial_snapshot_of_a_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from qv_config.repo.git import GitSource

    root = tmp_path / "repo"
    _tree(root)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "one")):
        subprocess.run(
            ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    def load(jobs: str) -> Snapshot:
        monkeypatch.setenv("QV_JOBS", jobs)
        source = GitSource(root, "HEAD")
        try:
            return load_snapshot(source, use_cache=False)
        finally:
            source.close()

    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    serial, forked = load("1"), load("2")
    assert _summary(forked) == _summary(serial)
    assert {f.code for f in forked.findings} >= {"QV102", "QV107"}
    assert "strategies/sealed.yaml" in forked.encrypted


def test_meanwhile_runs_once_while_workers_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``qv sync`` prepares rendering while the workers parse: the snapshot is the same, and
    the caller's work is done once, in this process (never in a worker), or not at all when
    nothing is parsed in workers."""
    import os

    root = tmp_path / "tree"
    _tree(root)
    calls: list[int] = []
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    forked = load_snapshot(WorkTreeSource(root), meanwhile=lambda: calls.append(os.getpid()))
    assert calls == [os.getpid()]
    monkeypatch.setenv("QV_JOBS", "1")
    serial = load_snapshot(WorkTreeSource(root), use_cache=False, meanwhile=lambda: calls.append(0))
    assert calls == [os.getpid()]
    assert _summary(forked) == _summary(serial)


def _slow_first(item: int) -> int:
    import time

    time.sleep(0.8 if item == 0 else 0.0)  # the first item ends last
    return item * 10


def test_results_are_handed_over_as_each_worker_ends_and_kept_in_order() -> None:
    """``then`` sees each result as its worker ends (here the later items before the first,
    which takes longest); the list is in the items' order, holding what ``then`` returned."""
    seen: list[int] = []

    def then(at: int, result: int) -> tuple[int, int]:
        seen.append(at)
        return at, result

    assert prefetch.in_workers(_slow_first, [0, 1, 2], then=then) == [(0, 0), (1, 10), (2, 20)]
    assert sorted(seen) == [0, 1, 2]
    assert seen[-1] == 0


def test_an_error_in_then_stops_the_workers_and_is_raised() -> None:
    def then(at: int, result: int) -> int:
        raise ValueError(f"part {at}")

    with pytest.raises(ValueError, match="part"):
        prefetch.in_workers(_slow_first, [0, 1, 2], then=then)
