"""`qv sync` writes the caches that serve only the next run (validation memo, template values,
desired-state hashes) in a forked child while it applies (``qv_config.later``): the records are
those a sync in one process writes, authentic (the next run is answered by them), there when
the command returns; a piece that fails in the child is done again in the parent, whose error
is the one reported, as when the writes were done in line."""

from __future__ import annotations

import marshal
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from tests.inprocess import run_qv

import qv_config.cli.drift
import qv_config.cli.sync  # noqa: F401 - registers the commands on the app
from qv_config.cache import pack
from qv_config.cache.results import Results
from qv_config.later import Later
from qv_config.repo import prefetch
from qv_config.store.desiredcache import STATS

_MAGIC = b"qv-cache-pack/1\n"  # the pack format of docs/performance.md, "The cache"
_LENGTH = struct.Struct("<Q")


def _payloads(path: Path) -> dict[str, bytes]:
    """A pack's records as stored (MACs left aside: they bind the file's own path)."""
    data = path.read_bytes()
    top = len(_MAGIC) + _LENGTH.size
    size = _LENGTH.unpack_from(data, len(_MAGIC))[0]
    joined, packed, _ = marshal.loads(data[top : top + size])
    offsets = struct.unpack(f"<{len(packed) // 8}Q", packed)
    start = top + size + pack.TAG_BYTES
    names = joined.split("\0") if joined else []
    out = {name: data[start + offsets[i] : start + offsets[i + 1]] for i, name in enumerate(names)}
    if path.name.startswith("validate-") and "row" in out:  # its memo id is drawn at random
        row = list(marshal.loads(out["row"]))
        out["row"] = repr(["rid", *row[1:]]).encode()
    return out


def _caches(root: Path) -> dict[str, dict[str, bytes]]:
    folder = root / ".qv" / "cache"
    return {str(p.relative_to(folder)): _payloads(p) for p in sorted(folder.rglob("*.qvc"))}


def _first_sync(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, jobs: str
) -> tuple[int, str, str]:
    shutil.rmtree(root / ".qv", ignore_errors=True)
    (root / "first.db").unlink(missing_ok=True)
    monkeypatch.setenv("QV_JOBS", jobs)
    done = run_qv(capsys, root, "sync", "--env", "dev", "--store", "sqlite:first.db")
    return done.code, done.out, done.err


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Workers and the writer child however small the project. Each memo written names its
    process in a file (a child's write is seen there); while the list holds "fail", a memo
    written by a child raises (the child then leaves its work undone)."""
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    seen = tmp_path / "writers"
    modes: list[str] = []
    parent, real = os.getpid(), Results.put

    def put(self: Results, *args: Any) -> None:
        with seen.open("a") as out:
            out.write("parent\n" if os.getpid() == parent else "child\n")
        if "fail" in modes and os.getpid() != parent:
            raise RuntimeError("a child that did not finish")
        real(self, *args)

    monkeypatch.setattr(Results, "put", put)
    modes.append(str(seen))
    return modes


def _writers(modes: list[str]) -> list[str]:
    seen = Path(modes[0])
    lines = seen.read_text().split() if seen.exists() else []
    seen.unlink(missing_ok=True)
    return lines


def test_the_child_writes_what_this_process_writes(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    writers: list[str],
) -> None:
    forked = _first_sync(project, capsys, monkeypatch, "")
    assert _writers(writers) == ["child"]
    written = _caches(project)
    writers[:] = [writers[0], "fail"]
    again = _first_sync(project, capsys, monkeypatch, "")  # the child fails: written here
    assert _writers(writers) == ["child", "parent"]
    assert again == forked
    assert _caches(project) == written
    alone = _first_sync(project, capsys, monkeypatch, "1")  # no workers, no child
    assert alone == forked
    assert _writers(writers) == ["parent"]


def test_what_the_child_wrote_is_authentic(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    writers: list[str],
) -> None:
    assert _first_sync(project, capsys, monkeypatch, "")[0] == 0
    assert _writers(writers) == ["child"]
    renders = STATS.renders  # a drift right after: answered by the child's desired hashes
    drift = run_qv(capsys, project, "drift", "--env", "dev", "--store", "sqlite:first.db")
    assert (drift.code, STATS.renders) == (0, renders)
    assert Results(project).memo("dev").row is not None  # the validation memo reads back


def test_a_failing_write_is_reported_as_when_it_was_done_in_line(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    calls: list[int] = []

    def broken(self: Results, *args: object) -> None:
        calls.append(os.getpid())
        raise RuntimeError("a bug in the memo")

    monkeypatch.setattr(Results, "put", broken)
    alone = _first_sync(project, capsys, monkeypatch, "1")
    assert alone[0] == 3  # an internal error, named
    assert "RuntimeError" in alone[2]
    assert calls == [os.getpid()]
    calls.clear()
    forked = _first_sync(project, capsys, monkeypatch, "")
    assert (forked[0], forked[2]) == (alone[0], alone[2])
    assert calls == [os.getpid()]  # the child's call is not seen here; the parent's raised


def test_kept_work_is_done_in_a_child_during_the_block(tmp_path: Path) -> None:
    mine: list[int] = []
    marks = tmp_path / "marks"
    with Later() as later:
        later.add(lambda: mine.append(os.getpid()))
        later.add(lambda: marks.write_text(str(os.getpid())))
        with later.meanwhile(fork=True):
            pass
    assert mine == []  # appended in the child's copy of the list
    assert marks.read_text() != str(os.getpid())


def test_without_a_fork_the_work_is_done_here_before_the_block() -> None:
    seen: list[str] = []
    with Later() as later:
        later.add(lambda: seen.append("work"))
        with later.meanwhile(fork=False):
            seen.append("block")
    assert seen == ["work", "block"]


def test_work_kept_when_an_error_comes_first_is_done_on_the_way_out() -> None:
    seen: list[str] = []

    def refused(later: Later) -> None:
        later.add(lambda: seen.append("work"))
        raise KeyError("refused")

    with pytest.raises(KeyError), Later() as later:
        refused(later)
    assert seen == ["work"]
