"""The parse cache: warm loads skip parsing; changed, corrupt or foreign caches are safe."""

from __future__ import annotations

import itertools
from pathlib import Path

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.repo.parsecache import ParseCache
from qv_config.scaffold import write_starter


def _cache_file(root: Path) -> Path:
    return root / ".qv" / "cache" / "parse.bin"


def test_second_load_hits_the_cache_and_sees_edits(tmp_path: Path) -> None:
    write_starter(tmp_path)
    first = load_snapshot(WorkTreeSource(tmp_path))
    assert _cache_file(tmp_path).is_file()
    cache = ParseCache(_cache_file(tmp_path))
    for path, doc in first.bases.items():
        assert cache.get(doc.digest) == doc.data, path
    strategy = next(iter(first.bases))
    (tmp_path / strategy).write_text((tmp_path / strategy).read_text() + "\n# edited\n")
    second = load_snapshot(WorkTreeSource(tmp_path))
    assert second.bases[strategy].digest != first.bases[strategy].digest
    assert second.bases[strategy].data == first.bases[strategy].data


def test_errors_are_never_cached(tmp_path: Path) -> None:
    write_starter(tmp_path)
    bad = tmp_path / "strategies" / "broken.yaml"
    bad.write_text("a: 1\na: 2\n")
    for _ in range(2):  # the second run must still find (and position) the error
        snapshot = load_snapshot(WorkTreeSource(tmp_path))
        codes = [(f.code, f.file, f.line) for f in snapshot.findings]
        assert ("QV102", "strategies/broken.yaml", 2) in codes


def test_corrupt_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    write_starter(tmp_path)
    clean = load_snapshot(WorkTreeSource(tmp_path))
    from qv_config.repo.statefile import write_state_file

    junks = (b"", b"not marshal at all", b"\x00" * 100)
    # Unsealed junk stops at the seal; sealed junk must be refused by the format checks.
    for junk, write in itertools.product(junks, (Path.write_bytes, write_state_file)):
        write(_cache_file(tmp_path), junk)
        again = load_snapshot(WorkTreeSource(tmp_path))
        assert {p: d.data for p, d in again.bases.items()} == {
            p: d.data for p, d in clean.bases.items()
        }


def test_reads_cannot_leave_the_repository(tmp_path: Path) -> None:
    write_starter(tmp_path / "repo")
    (tmp_path / "secret.txt").write_text("s3cret")
    snapshot = load_snapshot(WorkTreeSource(tmp_path / "repo"))
    assert snapshot.read("../secret.txt") is None
    assert snapshot.read("/etc/passwd") is None
