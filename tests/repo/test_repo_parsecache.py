"""The parse memo: warm loads skip parsing; changed, corrupt or foreign memo files are safe."""

from __future__ import annotations

from pathlib import Path

from tests.sealing import machine

from qv_config.cache import pack
from qv_config.cache.pack import sealer
from qv_config.cache.parse import ParseMemo
from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.scaffold import write_starter


def _cache_file(root: Path) -> Path:
    return root / ".qv" / "cache" / "parse.qvc"


def test_second_load_hits_the_cache_and_sees_edits(tmp_path: Path) -> None:
    write_starter(tmp_path)
    first = load_snapshot(WorkTreeSource(tmp_path))
    assert _cache_file(tmp_path).is_file()
    cache = ParseMemo(tmp_path)
    for path, doc in first.bases.items():
        assert cache.value(doc.digest) == doc.data, path
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
    digest = next(iter(clean.bases.values())).digest
    forged = {digest: b"not a value"}
    with machine(tmp_path / "other-machine"):  # another user's key
        pack.write(_cache_file(tmp_path), sealer(tmp_path, "parse.qvc"), forged)
    for junk in (None, b"", b"not a pack at all", b"\x00" * 100):
        if junk is not None:
            _cache_file(tmp_path).write_bytes(junk)
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
