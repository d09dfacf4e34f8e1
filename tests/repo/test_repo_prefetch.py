"""Parsing in worker processes (cold loads of large trees) gives exactly the serial snapshot:
values, digests, !replace tags, sops blocks kept aside, and every load error as a finding."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tree: Callable[[Path], None] = _tree
) -> tuple[Snapshot, Snapshot]:
    """The snapshot of ``tree`` loaded in this process, and loaded in workers (a copy)."""
    serial_root, parallel_root = tmp_path / "serial", tmp_path / "parallel"
    tree(serial_root)
    tree(parallel_root)
    monkeypatch.setenv("QV_JOBS", "1")
    serial = load_snapshot(WorkTreeSource(serial_root), use_cache=False)
    monkeypatch.delenv("QV_JOBS")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    return serial, load_snapshot(WorkTreeSource(parallel_root))


def test_workers_give_the_serial_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, forked = _both(tmp_path, monkeypatch)
    parallel_root = tmp_path / "parallel"
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
    from qv_config.repo.git import GitSource

    root = tmp_path / "repo"
    _committed(root)

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


def _slow_first_bytes(item: int) -> bytes | None:
    import time

    time.sleep(0.8 if item == 0 else 0.0)  # the first item ends last
    return None if item == 3 else b"%d" % (item * 10)  # None: the job gave nothing


def test_forks_hand_over_each_result_as_it_ends_a_few_at_a_time() -> None:
    """``forked`` with ``at_once``: never more children than that at once (the later items
    wait for a place), ``then`` sees each result as its child ends, the list is in the items'
    order; a job that gives None is a failed part; ``waiting`` is told while children run."""
    seen: list[int] = []
    ticks: list[int] = []

    def then(at: int, blob: bytes | None) -> tuple[int, bytes | None]:
        seen.append(at)
        return at, blob

    out = prefetch.forked(
        _slow_first_bytes, [0, 1, 2, 3], at_once=2, waiting=lambda: ticks.append(1), then=then
    )
    assert out == [(0, b"0"), (1, b"10"), (2, b"20"), (3, None)]
    assert seen[-1] == 0
    assert sorted(seen) == [0, 1, 2, 3]
    assert ticks  # the first child took 0.8 s
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every child was reaped


def _timed(folder: Path, item: int) -> bytes:
    import time

    start = time.monotonic()
    time.sleep(0.1)
    (folder / str(item)).write_text(f"{start} {time.monotonic()}")
    return b"%d" % item


def test_forks_take_turns(tmp_path: Path) -> None:
    """At most ``at_once`` jobs run at a time (a child is forked when one has ended)."""
    from functools import partial

    out = prefetch.forked(partial(_timed, tmp_path), list(range(5)), at_once=2)
    assert out == [b"0", b"1", b"2", b"3", b"4"]
    spans = [tuple(map(float, p.read_text().split())) for p in tmp_path.iterdir()]
    assert len(spans) == 5
    for start, _ in spans:
        assert sum(1 for s, e in spans if s <= start < e) <= 2


def test_an_error_in_then_stops_the_forks_and_is_raised() -> None:
    def then(at: int, blob: bytes | None) -> None:
        raise ValueError(f"part {at}")

    with pytest.raises(ValueError, match="part"):
        prefetch.forked(_slow_first_bytes, [0, 1, 2], at_once=2, then=then)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _committed(root: Path) -> None:
    import subprocess

    _tree(root)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "one")):
        subprocess.run(
            ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )


def test_a_missing_blob_is_an_error_with_or_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob the revision lists but Git does not have (a shallow or damaged clone) is the
    parent's to report, as when it reads the file itself: never a document left out quietly
    (``qv sync`` would delete it from the store)."""
    import subprocess

    from qv_config.errors import GitError
    from qv_config.repo.git import GitSource

    root = tmp_path / "repo"
    _committed(root)
    blob = subprocess.run(
        ["git", "rev-parse", "HEAD:strategies/tagged.yaml"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    for jobs in ("1", "2"):
        monkeypatch.setenv("QV_JOBS", jobs)
        source = GitSource(root, "HEAD")
        try:
            with pytest.raises(GitError, match="is missing"):
                load_snapshot(source, use_cache=False)
        finally:
            source.close()


def test_workers_give_the_serial_snapshot_of_unusual_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UTF-8 beyond ASCII, a byte order mark, CRLF, an empty file and one of only a comment
    (each file's value or error as the parent's own load gives it)."""
    files = {
        "utf8.yaml": "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: zü}\nspec: {a: é}\n",
        "bom.yaml": "\ufeffapiVersion: qv/v1\nkind: Strategy\nmetadata: {name: bom}\nspec: {}\n",
        "crlf.yaml": "apiVersion: qv/v1\r\nkind: Strategy\r\nmetadata: {name: cr}\r\nspec: {}\r\n",
        "empty.yaml": "",
        "comment.yaml": "# nothing\n",
        "list.yaml": "- a\n",
    }

    def tree(root: Path) -> None:
        _tree(root)
        for name, text in files.items():
            (root / "strategies" / name).write_bytes(text.encode("utf-8"))

    serial, forked = _both(tmp_path, monkeypatch, tree)
    assert _summary(forked) == _summary(serial)
    assert forked.bases["strategies/utf8.yaml"].data["spec"] == {"a": "é"}
    assert {f.file for f in forked.findings} >= {
        f"strategies/{n}" for n in ("empty.yaml", "list.yaml")
    }


def test_a_worker_that_fails_leaves_its_files_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parse worker that dies (here: its job raises) gives nothing; the parent loads its
    files itself, to the same snapshot."""
    real = prefetch._parse_chunk

    def failing(read: Any, limits: Any, paths: list[str]) -> bytes:
        if "strategies/broken.yaml" in paths:
            raise RuntimeError("worker lost")
        return real(read, limits, paths)

    monkeypatch.setattr(prefetch, "_parse_chunk", failing)
    serial, forked = _both(tmp_path, monkeypatch)
    assert _summary(forked) == _summary(serial)


def test_an_interrupted_parent_stops_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """What interrupts this process while its workers run (^C) ends them: none is left
    running or unreaped."""
    import os
    import time

    def slow(item: int) -> bytes:
        time.sleep(60)
        return b""

    def interrupted() -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        prefetch.forked(slow, [1, 2], interrupted)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of this process is left
