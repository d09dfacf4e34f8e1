"""The one cache format (``cache.pack``) and its MACs: a record reads back only
when this user's qv wrote it, for this project, in this file, under this name and with these
bytes; anything else is absent (never an error, never a crash)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sealing import machine

from qv_config.cache import pack
from qv_config.cache.key import key_path, user_key
from qv_config.cache.pack import sealer

RECORDS = {"alpha": b"first record", "beta": b"", "gamma": bytes(range(256)) * 4}


def _write(root: Path, file: str = "x.qvc", records: dict[str, bytes] = RECORDS) -> Path:
    path = root / ".qv" / "cache" / file
    assert pack.write(path, sealer(root, file), records)
    return path


def _read(root: Path, path: Path, file: str = "x.qvc") -> dict[str, bytes | None]:
    found = pack.Pack.open(path, sealer(root, file))
    try:
        return {name: found.get(name) for name in RECORDS}
    finally:
        found.close()


NOTHING = dict.fromkeys(RECORDS)


def test_records_read_back(tmp_path: Path) -> None:
    path = _write(tmp_path)
    assert _read(tmp_path, path) == RECORDS
    assert (tmp_path / ".qv" / ".gitignore").read_text().endswith("*\n")
    assert pack.read_one(path, sealer(tmp_path, "x.qvc"), "missing") is None


def test_the_key_is_private_and_outside_the_repository(tmp_path: Path) -> None:
    with machine(tmp_path / "home"):
        assert user_key() is not None
        key = key_path()
        assert key == tmp_path / "home" / "qv" / "cache-key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert len(key.read_bytes()) == 32


def test_a_file_of_another_key_is_ignored(tmp_path: Path) -> None:
    with machine(tmp_path / "machine-a"):
        path = _write(tmp_path / "proj")
        assert _read(tmp_path / "proj", path) == RECORDS
    with machine(tmp_path / "machine-b"):
        assert _read(tmp_path / "proj", path) == NOTHING


def test_a_file_of_another_project_or_file_is_ignored(tmp_path: Path) -> None:
    other = _write(tmp_path / "other-project")
    path = tmp_path / "proj" / ".qv" / "cache" / "x.qvc"
    path.parent.mkdir(parents=True)
    path.write_bytes(other.read_bytes())  # same user, same key: copied from another project
    assert _read(tmp_path / "proj", path) == NOTHING
    renamed = _write(tmp_path / "proj", "y.qvc")
    path.write_bytes(renamed.read_bytes())  # same project, another cache file
    assert _read(tmp_path / "proj", path) == NOTHING
    assert _read(tmp_path / "proj", renamed, "y.qvc") == RECORDS


def test_records_of_other_code_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path)
    monkeypatch.setattr(pack, "code_hash", lambda: "an edited development build")
    assert _read(tmp_path, path) == NOTHING


def test_the_code_fingerprint_follows_every_module_edit(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 2\n")
    first = pack.fingerprint(str(package))
    (package / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"compiled")
    (package / "notes.txt").write_text("not code")
    assert pack.fingerprint(str(package)) == first  # bytecode and other files do not count
    (package / "sub" / "b.py").write_text("B = 3\n")  # same size, later modification time
    os.utime(package / "sub" / "b.py", ns=(1, 10**18))
    edited = pack.fingerprint(str(package))
    assert edited != first
    (package / "sub" / "c.py").write_text("")
    assert pack.fingerprint(str(package)) not in (first, edited)
    assert len(pack.code_hash()) == 32


def test_records_cannot_be_renamed_or_swapped(tmp_path: Path) -> None:
    path = _write(tmp_path, records={"alpha": b"yes", "beta": b"no"})
    data = path.read_bytes()
    # The index names the records; swapping two names of equal length points each name at the
    # other's bytes and MAC: both fail (and so does the index, whose own MAC covers it).
    assert b"alpha\0beta" in data
    path.write_bytes(data.replace(b"alpha\0beta", b"beta\0alpha"))
    found = pack.Pack.open(path, sealer(tmp_path, "x.qvc"))
    assert (found.get("alpha"), found.get("beta")) == (None, None)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated in the index
        lambda data: data[:-1],  # truncated in the last record
        lambda data: data + b"\0",  # grown
        lambda data: b"",
        lambda data: b"junk" * 100,
    ],
    ids=["index cut", "record cut", "grown", "empty", "junk"],
)
def test_a_damaged_file_is_ignored(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    path = _write(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    assert _read(tmp_path, path) == NOTHING


def test_each_flipped_byte_is_caught(tmp_path: Path) -> None:
    path = _write(tmp_path)
    data = path.read_bytes()
    for at in range(len(data)):  # every byte of the file: magic, index, MACs, records
        flipped = bytearray(data)
        flipped[at] ^= 0x20
        path.write_bytes(bytes(flipped))
        found = _read(tmp_path, path)
        assert all(found[name] in (None, RECORDS[name]) for name in RECORDS), at
        assert found != RECORDS, at


def test_a_record_damaged_after_opening_is_a_miss(tmp_path: Path) -> None:
    path = _write(tmp_path)
    found = pack.Pack.open(path, sealer(tmp_path, "x.qvc"))
    data = path.read_bytes()
    at = data.rindex(RECORDS["gamma"])
    with path.open("r+b") as handle:  # damaged in place after the index was read
        handle.seek(at + 10)
        handle.write(b"\xff")
    assert found.get("gamma") is None
    assert found.get("alpha") == RECORDS["alpha"]
    found.close()


def test_no_key_means_no_cache(tmp_path: Path) -> None:
    home = tmp_path / "a-file"
    home.write_text("XDG_CACHE_HOME is a file: no key can be kept under it")
    with machine(home):
        assert sealer(tmp_path, "x.qvc") is None
        assert not pack.write(tmp_path / "x.qvc", None, RECORDS)
        assert not (tmp_path / "x.qvc").exists()


def test_no_file_descriptor_is_left_open(tmp_path: Path) -> None:
    path = _write(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    packs = [pack.Pack.open(path, sealer(tmp_path, "x.qvc")) for _ in range(10)]
    assert len(os.listdir("/proc/self/fd")) == before + 10
    packs[0].close()
    packs[0].close()
    del packs
    assert len(os.listdir("/proc/self/fd")) == before
    path.write_bytes(b"junk")
    assert pack.Pack.open(path, sealer(tmp_path, "x.qvc")).get("alpha") is None
    assert len(os.listdir("/proc/self/fd")) == before
