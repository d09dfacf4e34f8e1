"""The parse cache file: its index is read on every run, its values only when used, and a file
that is truncated, damaged, foreign or of another format is ignored (never a crash)."""

from __future__ import annotations

import gc
import marshal
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qv_config.repo import parsecache, parsefile, statefile
from qv_config.repo.parsecache import ParseCache, StatEntry, encode_blob

SETTINGS = "Limits(max_file_bytes=1000)"
VALUES: dict[str, Any] = {
    "d-a": {"a": [1, 2, {"x": None}]},
    "d-b": "bee",
    "d-c": [3.5, True],
}
STATS: dict[str, StatEntry] = {  # long before the run: never racy
    "a.yaml": (1_000_000_001, 10, 11, 1_000_000_002, "d-a"),
    "b.yaml": (1_000_000_003, 20, 2**64 - 1, 1_000_000_004, "d-b"),
    "c.yaml": (1_000_000_005, 30, 13, 1_000_000_006, "d-c"),
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A cache file written by one run that parsed VALUES and read the files of STATS."""
    target = tmp_path / ".qv" / "cache" / "parse.bin"
    cache = ParseCache(target)
    cache.settings = SETTINGS
    for digest, value in VALUES.items():
        cache.put(digest, value)
    for file, entry in STATS.items():
        cache.remember(file, entry[:4], entry[4])
    cache.save()
    assert target.is_file()
    return target


@pytest.fixture
def other_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as another machine (another seal key) from here on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-machine"))
    statefile._token.cache_clear()
    yield
    monkeypatch.undo()
    statefile._token.cache_clear()


def _open(path: Path) -> ParseCache:
    cache = ParseCache(path)
    cache.settings = SETTINGS
    return cache


def _is_empty(cache: ParseCache) -> bool:
    known = [cache.known_digest(file, entry[:4]) for file, entry in STATS.items()]
    found = [cache.get(digest) for digest in VALUES]
    return known == [None] * 3 and found == [None] * 3 and not any(map(cache.has, VALUES))


def _seal_length(path: Path) -> int:
    payload = statefile.read_state_file(path)
    assert payload is not None
    return len(path.read_bytes()) - len(payload)


def _index_end(path: Path) -> int:
    """Where the blob area starts in the file."""
    payload = statefile.read_state_file(path)
    assert payload is not None
    size: int = parsefile._LENGTH.unpack_from(payload, len(parsefile._LINE))[0]
    return _seal_length(path) + parsefile._TOP + size


def _rewrite_index(path: Path, change: Any) -> None:
    """Re-seal the file with its unmarshalled index passed through ``change``."""
    payload = statefile.read_state_file(path)
    assert payload is not None
    start = parsefile._TOP
    size = parsefile._LENGTH.unpack_from(payload, len(parsefile._LINE))[0]
    index = marshal.dumps(tuple(change(list(marshal.loads(payload[start : start + size])))))
    head = parsefile._LINE + parsefile._LENGTH.pack(len(index))
    statefile.write_state_file(path, head + index + payload[start + size :])


def _open_fds() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


# ---------------------------------------------------------------- reading


def test_values_and_stat_entries_read_back(path: Path) -> None:
    cache = _open(path)
    for digest, value in VALUES.items():
        assert cache.has(digest)
        assert cache.get(digest) == value
    for file, entry in STATS.items():
        assert cache.known_digest(file, entry[:4]) == entry[4]
    assert cache.known_digest("a.yaml", (1_000_000_001, 10, 11, 1_000_000_099)) is None
    assert cache.known_digest("new.yaml", STATS["a.yaml"][:4]) is None
    assert cache.get("d-unknown") is None
    cache.settings = "Limits(max_file_bytes=5)"  # other limits: no entry vouches for a file
    assert cache.known_digest("a.yaml", STATS["a.yaml"][:4]) is None


def test_known_digests_of_many_files_agree_with_one_by_one(path: Path) -> None:
    asked: dict[str, tuple[int, int, int, int] | None] = {
        "a.yaml": STATS["a.yaml"][:4],
        "b.yaml": (1_000_000_003, 21, 2**64 - 1, 1_000_000_004),  # size changed
        "c.yaml": STATS["c.yaml"][:4],
        "new.yaml": STATS["a.yaml"][:4],  # never seen
        "gone.yaml": None,  # no stat (removed while listing)
    }
    together = _open(path).known_digests(asked)
    single = _open(path)
    one_by_one = {f: single.known_digest(f, s) for f, s in asked.items() if s is not None}
    assert together == {f: d for f, d in one_by_one.items() if d is not None}
    assert together == {"a.yaml": "d-a", "c.yaml": "d-c"}
    other = _open(path)
    other.settings = "Limits(max_file_bytes=5)"  # other limits: no entry vouches for a file
    assert other.known_digests(asked) == {}


def test_files_vouched_for_keep_their_values_in_a_rewrite(path: Path) -> None:
    # A run that relied on a.yaml lazily (never decoding it) and changed more files than the
    # index may lag behind: the rewrite keeps a's value, drops the values nobody used.
    cache = _open(path)
    assert cache.known_digests({"a.yaml": STATS["a.yaml"][:4]}) == {"a.yaml": "d-a"}
    for i in range(40):
        cache.put(f"d-new-{i}", i)
        stat = (1_000_000_100 + i, 1, 100 + i, 1_000_000_200)
        cache.remember(f"new-{i}.yaml", stat, f"d-new-{i}")
    cache.save()
    again = _open(path)
    assert again.get("d-a") == VALUES["d-a"]
    assert again.known_digest("a.yaml", STATS["a.yaml"][:4]) == "d-a"
    assert not again.has("d-b")


def test_values_are_read_when_used_not_when_the_cache_opens(path: Path) -> None:
    cache = _open(path)
    blob = encode_blob(VALUES["d-b"])
    assert blob is not None
    data = path.read_bytes()
    at = data.index(blob, _index_end(path))
    with path.open("r+b") as handle:  # the same file, damaged in place after the index was read
        handle.seek(at)
        handle.write(b"\xff" * len(blob))
    assert cache.get("d-b") is None  # undecodable: a miss (the file is parsed again)
    assert cache.get("d-a") == VALUES["d-a"]
    assert cache.get("d-c") == VALUES["d-c"]


# ---------------------------------------------------------------- files that are ignored


def test_a_file_truncated_in_the_index_is_ignored(path: Path) -> None:
    data = path.read_bytes()
    for cut in (_seal_length(path) + 3, _seal_length(path) + parsefile._TOP + 5):
        path.write_bytes(data[:cut])
        assert _is_empty(_open(path))
    path.write_bytes(data)
    assert not _is_empty(_open(path))


def test_a_file_truncated_in_the_blob_area_is_ignored(path: Path) -> None:
    data = path.read_bytes()
    for cut in (_index_end(path), len(data) - 1):
        path.write_bytes(data[:cut])
        assert _is_empty(_open(path))
    path.write_bytes(data + b"\x00")  # grown: not the file qv wrote either
    assert _is_empty(_open(path))


def test_offsets_or_rows_pointing_outside_are_misses(path: Path) -> None:
    def offsets_out(index: list[Any]) -> list[Any]:
        offsets = array("q", index[-1])
        offsets[1] = 10**9  # value 0 ends, and value 1 starts, past the blob area
        index[-1] = offsets.tobytes()
        return index

    _rewrite_index(path, offsets_out)
    cache = _open(path)
    assert cache.get("d-a") is None
    assert cache.get("d-b") is None
    assert cache.get("d-c") == VALUES["d-c"]

    def rows_out(index: list[Any]) -> list[Any]:
        index[7] = array("Q", [7, 2**63, 2]).tobytes()  # value numbers of the three rows
        return index

    _rewrite_index(path, rows_out)
    cache = _open(path)
    assert cache.known_digest("a.yaml", STATS["a.yaml"][:4]) is None
    assert cache.known_digest("b.yaml", STATS["b.yaml"][:4]) is None
    assert cache.known_digest("c.yaml", STATS["c.yaml"][:4]) == "d-c"


@pytest.mark.parametrize(
    "change",
    [
        lambda index: index[:-1],  # a field missing
        lambda index: [*index[:-1], index[-1][:-3]],  # offsets not whole numbers
        lambda index: [*index[:-1], b""],  # offsets for no value at all
        lambda index: [index[0], index[1] + "\0a.yaml", *index[2:]],  # a path twice
        lambda index: [index[0], 42, *index[2:]],  # paths of another type
    ],
)
def test_an_inconsistent_index_is_ignored(path: Path, change: Any) -> None:
    _rewrite_index(path, change)
    assert _is_empty(_open(path))


def test_a_file_of_another_user_is_ignored(path: Path, other_machine: None) -> None:
    assert _is_empty(_open(path))


def test_files_of_other_formats_are_ignored(path: Path) -> None:
    blobs = {digest: encode_blob(value) for digest, value in VALUES.items()}
    older = ("qv-parse-2/0", blobs, SETTINGS, STATS)  # the layout before this one
    payload = statefile.read_state_file(path)
    assert payload is not None
    for junk in (
        marshal.dumps(older),
        payload.replace(parsefile._LINE, b"qv-parse-3/little/0.0.0\n", 1),  # another version
        b"",
    ):
        statefile.write_state_file(path, junk)
        assert _is_empty(_open(path))
    path.write_bytes(b"")  # not even a seal (where mapping an empty file would fail)
    assert _is_empty(_open(path))


# ---------------------------------------------------------------- writing


def test_a_rewrite_keeps_what_the_run_used(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsecache, "_MAX_BEHIND", 0)
    inode = path.stat().st_ino
    cache = _open(path)
    assert cache.known_digest("a.yaml", STATS["a.yaml"][:4]) == "d-a"
    cache.keep("d-a")  # a lazily loaded document: kept without being decoded
    assert cache.get("d-b") == VALUES["d-b"]
    cache.put("d-new", {"new": 1})
    cache.save()
    assert path.stat().st_ino != inode  # replaced by rename
    assert cache.get("d-c") == VALUES["d-c"]  # this run still reads the file it started from
    again = _open(path)
    assert [again.has(d) for d in ("d-a", "d-b", "d-c", "d-new")] == [True, True, False, True]
    assert again.get("d-a") == VALUES["d-a"]
    assert again.get("d-new") == {"new": 1}
    assert again.known_digest("a.yaml", STATS["a.yaml"][:4]) == "d-a"
    assert again.known_digest("b.yaml", STATS["b.yaml"][:4]) is None  # not seen by that run


def test_a_run_that_changed_nothing_leaves_the_file(path: Path) -> None:
    before = path.stat()
    cache = _open(path)
    for file, entry in STATS.items():
        digest = cache.known_digest(file, entry[:4])
        assert digest is not None
        cache.keep(digest)
    cache.save()
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_stat_values_beyond_the_columns_are_not_recorded(tmp_path: Path) -> None:
    target = tmp_path / "parse.bin"
    cache = ParseCache(target)
    cache.put("d-a", 1)
    cache.remember("huge.yaml", (1, 2, 2**64, 4), "d-a")
    cache.remember("negative.yaml", (1, 2, -1, 4), "d-a")
    cache.remember("fine.yaml", (1, 2, 3, 4), "d-a")
    cache.save()
    again = ParseCache(target)
    assert again.known_digest("fine.yaml", (1, 2, 3, 4)) == "d-a"
    assert again.known_digest("huge.yaml", (1, 2, 2**64, 4)) is None


def test_pack_and_unpack_agree(path: Path) -> None:
    payload = statefile.read_state_file(path)
    assert payload is not None
    unpacked = parsecache.unpack_payload(payload)
    assert unpacked is not None
    blobs, settings, stats = unpacked
    assert settings == SETTINGS
    assert stats == STATS
    assert {digest: parsecache.decode_blob(blob) for digest, blob in blobs.items()} == VALUES
    assert parsecache.pack_payload(blobs, settings, stats) == payload
    assert parsecache.unpack_payload(payload[:-1]) is None


# ---------------------------------------------------------------- file descriptors


def test_no_file_descriptor_is_left_open(path: Path) -> None:
    before = _open_fds()
    caches = [_open(path) for _ in range(20)]
    assert _open_fds() == before + 20  # each reads its values from the file it started from
    caches[0].close()
    caches[0].close()
    assert _open_fds() == before + 19
    del caches
    assert _open_fds() == before
    path.write_bytes(b"junk")
    ignored = _open(path)
    assert _is_empty(ignored)
    assert _open_fds() == before
