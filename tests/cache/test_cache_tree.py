"""The work tree's listing (``cache.tree``): what a stat vouches for, as Git's index; racy and
unclean files are read again; which environments stay fresh when another command lists."""

from __future__ import annotations

import os
import time
from array import array
from pathlib import Path

from qv_config.cache.tree import Tree

OLD = 1_000_000_000  # a stat taken long before any run: never racy
SETTINGS = "Limits()"


def listing(stats: dict[str, tuple[int, int, int, int]]) -> tuple[list[str], array[int]]:
    paths = list(stats)
    return paths, array("q", [n for stat in stats.values() for n in stat])


def index(paths: list[str]) -> dict[str, int]:
    return {path: at for at, path in enumerate(paths)}


def tree(root: Path, stats: dict[str, tuple[int, int, int, int]]) -> Tree:
    found = Tree(root)
    now = listing(stats)
    found.compare(now, lambda: index(now[0]))
    return found


def stat(i: int, size: int = 10) -> tuple[int, int, int, int]:
    return (OLD + i, size, i, OLD + i)


def test_an_unchanged_stat_vouches_only_under_the_same_limits(tmp_path: Path) -> None:
    stats = {f"f{i}.yaml": stat(i) for i in range(3)}
    first = tree(tmp_path, stats)
    for i in range(3):
        first.reads[f"f{i}.yaml"] = (f"{i}" * 40, True)
    first.save(SETTINGS)
    again = tree(tmp_path, stats)
    assert again.changes.restat == []
    assert [again.vouched(p, SETTINGS) for p in stats] == [f"{i}" * 40 for i in range(3)]
    assert again.vouched("f0.yaml", "Limits(max_file_bytes=10)") == ""
    changed = tree(tmp_path, {**stats, "f1.yaml": stat(1, size=11)})
    assert changed.changes.restat == ["f1.yaml"]
    assert changed.vouched("f1.yaml", SETTINGS) == ""
    assert changed.digest("f1.yaml") == "1" * 40  # what it was: compared with what it is now


def test_added_and_removed_files(tmp_path: Path) -> None:
    stats = {f"f{i}.yaml": stat(i) for i in range(3)}
    first = tree(tmp_path, stats)
    first.save(SETTINGS)
    now = {"f0.yaml": stat(0), "f2.yaml": stat(2), "new.yaml": stat(9)}
    changes = tree(tmp_path, now).changes
    assert (changes.restat, changes.removed, changes.added) == (
        ["new.yaml"],
        ["f1.yaml"],
        ["new.yaml"],
    )


def test_a_file_changed_just_now_and_an_unclean_one_are_read_again(tmp_path: Path) -> None:
    now_ns = time.time_ns()
    stats = {"new.yaml": (now_ns, 10, 1, now_ns), "bad.yaml": stat(2), "enc.yaml": stat(3)}
    first = tree(tmp_path, stats)
    first.reads.update(
        {"new.yaml": ("a" * 40, True), "bad.yaml": ("b" * 40, False), "enc.yaml": ("c" * 40, False)}
    )
    first.save(SETTINGS)
    again = tree(tmp_path, stats)
    assert again.changes.restat == ["new.yaml"]  # racy: its stat cannot vouch
    assert again.digest("new.yaml") == "a" * 40  # yet its bytes are known
    assert again.rereads() == {"bad.yaml", "enc.yaml"}  # unchanged, but read again
    assert [again.vouched(p, SETTINGS) for p in stats] == ["", "", ""]


def test_another_command_keeps_only_what_its_changes_leave_fresh(tmp_path: Path) -> None:
    stats = {
        "qv.yaml": stat(0),
        "environments/dev/a.yaml": stat(1),
        "environments/prod/a.yaml": stat(2),
    }
    first = tree(tmp_path, stats)
    first.reads.update({p: (f"{i}" * 40, True) for i, p in enumerate(stats)})
    first.save(SETTINGS, checked={"dev": "r1", "prod": "r2"}, summary="summary")
    touched = tree(tmp_path, {**stats, "environments/dev/a.yaml": stat(1, size=11)})
    touched.reads["environments/dev/a.yaml"] = ("1" * 40, True)  # same bytes
    touched.save(SETTINGS)
    kept = Tree(tmp_path)
    assert (kept.fresh, kept.summary) == ({"dev": "r1", "prod": "r2"}, "summary")
    edited = tree(tmp_path, {**stats, "environments/dev/a.yaml": stat(1, size=12)})
    edited.reads["environments/dev/a.yaml"] = ("9" * 40, True)
    edited.save(SETTINGS)
    assert (Tree(tmp_path).fresh, Tree(tmp_path).summary) == ({"prod": "r2"}, None)
    unread = tree(tmp_path, {**stats, "qv.yaml": stat(0, size=13), **{"x": stat(5)}})
    unread.save(SETTINGS)  # a path added, another changed and not read
    assert Tree(tmp_path).fresh == {}


def test_no_root_keeps_nothing(tmp_path: Path) -> None:
    off = Tree(None)
    assert not off.enabled
    off.compare(listing({"a.yaml": stat(1)}), dict)
    off.save(SETTINGS)
    assert not list(tmp_path.iterdir())
    assert os.listdir(tmp_path) == []
