"""The parse memo (``cache.parse``): which values a rewrite keeps, and what the Git blob map
vouches for."""

from __future__ import annotations

from pathlib import Path

import pytest

from qv_config.cache import parse
from qv_config.cache.parse import ParseMemo, encode

SETTINGS = "Limits()"


def _blob(i: int) -> bytes:
    blob = encode({"i": i})
    assert blob is not None
    return blob


def _memo(root: Path, complete: bool = True) -> ParseMemo:
    memo = ParseMemo(root)
    memo.settings = SETTINGS
    memo.complete = complete
    return memo


def _fill(root: Path, count: int) -> None:
    memo = _memo(root)
    for i in range(count):
        memo.put(f"d{i}", _blob(i))
    memo.save()


def _kept(root: Path, count: int) -> list[int]:
    memo = _memo(root)
    return [i for i in range(count) if memo.value(f"d{i}") == {"i": i}]


def test_values_a_run_relied_on_survive_a_rewrite(tmp_path: Path) -> None:
    _fill(tmp_path, 50)
    memo = _memo(tmp_path)
    for i in range(10):  # read again and found kept (as a cold load's workers hand them back)
        memo.put(f"d{i}", _blob(i))
    for i in range(100, 150):  # enough new values for a rewrite
        memo.put(f"d{i}", _blob(i))
    memo.save()
    assert _kept(tmp_path, 10) == list(range(10))
    assert _kept(tmp_path, 50)[10:] == []  # a whole-tree run that did not meet them: dropped


def test_a_partial_load_drops_nothing(tmp_path: Path) -> None:
    _fill(tmp_path, 50)
    memo = _memo(tmp_path, complete=False)  # one environment, or a Git revision
    for i in range(100, 150):
        memo.put(f"d{i}", _blob(i))
    memo.save()
    assert _kept(tmp_path, 50) == list(range(50))
    assert _memo(tmp_path).value("d120") == {"i": 120}


def test_git_blob_ids_vouch_for_kept_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(tmp_path, 2)
    memo = _memo(tmp_path, complete=False)
    memo.remember_blob("a" * 40, "d0")
    memo.remember_blob("b" * 40, "missing")
    memo.save()
    again = _memo(tmp_path, complete=False)
    assert again.known_blob("a" * 40) == "d0"
    assert again.known_blob("b" * 40) is None  # no value kept for it
    assert again.known_blob("c" * 40) is None
    monkeypatch.setattr(parse, "_MAX_BLOBS", 0)  # over the bound: only this run's ids stay
    third = _memo(tmp_path, complete=False)
    third.remember_blob("c" * 40, "d1")
    third.save()
    assert _memo(tmp_path).known_blob("a" * 40) is None
    assert _memo(tmp_path).known_blob("c" * 40) == "d1"
    other = _memo(tmp_path)
    other.settings = "Limits(max_file_bytes=10)"  # other YAML limits: no blob vouches
    assert other.known_blob("c" * 40) is None


def test_a_save_that_holds_its_values_writes_once(tmp_path: Path) -> None:
    memo = _memo(tmp_path, complete=False)
    for i in range(50):
        memo.put(f"d{i}", _blob(i))
    memo.save(release=False)  # while workers forked from this process may still read them
    written = tmp_path / ".qv" / "cache" / "parse.qvc"
    stamp = written.stat().st_mtime_ns
    assert memo.value("d7") == {"i": 7}
    assert memo.has("d49")
    memo.save()  # nothing new since: not written again
    assert written.stat().st_mtime_ns == stamp
    assert _kept(tmp_path, 50) == list(range(50))


def test_a_value_is_found_only_under_the_yaml_limits_it_loaded_under(tmp_path: Path) -> None:
    """The same bytes may be refused under stricter limits (QV105 for an alias): a value kept
    under one set of limits is absent under another, in memory and on disk; qv.yaml's facts
    (it always loads under the defaults) are found under any."""
    strict = "Limits(max_file_bytes=1048576, max_alias_nodes=0)"
    memo = _memo(tmp_path)
    memo.put("d0", _blob(0))
    memo.put_fact("project-info:q", [["dev"], [], {}])
    read_before = memo.reader()
    memo.settings = strict
    assert memo.value("d0") is None
    assert not memo.has("d0")
    assert memo.kept({"a.yaml": "d0"}) == {}
    assert read_before("d0") == {"i": 0}  # a document made under the old limits still reads
    assert memo.fact("project-info:q") == [["dev"], [], {}]
    memo.put("d1", _blob(1))
    memo.save()
    again = _memo(tmp_path)  # the old limits
    assert again.value("d0") == {"i": 0}
    assert again.value("d1") is None
    again.settings = strict
    assert again.value("d0") is None
    assert again.value("d1") == {"i": 1}
    assert again.fact("project-info:q") == [["dev"], [], {}]
