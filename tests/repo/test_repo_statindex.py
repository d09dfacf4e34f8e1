"""The stat index of the work tree (``cache.tree``): unchanged files are neither read nor
parsed on a warm load, every kind of edit is still seen, and racy (just written) files are never
trusted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.starter import aged_starter

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.scaffold import write_starter
from qv_config.yamlio.loader import LazyDoc


def _values(root: Path) -> dict[str, object]:
    snapshot = load_snapshot(WorkTreeSource(root))
    return {path: doc.data for path, doc in snapshot.bases.items()}


def test_warm_load_is_lazy_and_gives_the_same_values(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    first = load_snapshot(WorkTreeSource(tmp_path))
    assert not any(doc.unread for doc in first.bases.values())  # type: ignore[attr-defined]
    second = load_snapshot(WorkTreeSource(tmp_path))
    assert second.bases
    assert all(doc.unread for doc in second.bases.values())  # type: ignore[attr-defined]
    for path, doc in second.bases.items():
        before = first.bases[path]
        assert (doc.path, doc.digest, doc.data, doc.text) == (
            before.path,
            before.digest,
            before.data,
            before.text,
        )
        assert doc.positions() == before.positions()


def test_an_edit_is_seen_even_with_the_old_mtime_and_size(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    load_snapshot(WorkTreeSource(tmp_path))
    load_snapshot(WorkTreeSource(tmp_path))
    path = next((tmp_path / "strategies").rglob("*.yaml"))
    stat = path.stat()
    text = path.read_text()
    edited = text.replace("owner: ", "owner: x", 1)[:-1]  # same size, other content
    assert len(edited) == len(text)
    assert edited != text
    path.write_text(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # mtime and size as before
    snapshot = load_snapshot(WorkTreeSource(tmp_path))  # the inode's ctime still moved
    doc = snapshot.bases[path.relative_to(tmp_path).as_posix()]
    assert doc.data["metadata"]["owner"].startswith("x")


def test_just_written_files_are_not_trusted(tmp_path: Path) -> None:
    write_starter(tmp_path)  # every mtime is "now": within the racy window
    load_snapshot(WorkTreeSource(tmp_path))
    again = load_snapshot(WorkTreeSource(tmp_path))
    assert not any(doc.unread for doc in again.bases.values())  # type: ignore[attr-defined]


def test_a_file_that_became_invalid_is_reported(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    load_snapshot(WorkTreeSource(tmp_path))
    path = next((tmp_path / "strategies").rglob("*.yaml"))
    path.write_text(path.read_text() + "spec: {}\nspec: {}\n")
    snapshot = load_snapshot(WorkTreeSource(tmp_path))
    rel = path.relative_to(tmp_path).as_posix()
    assert rel not in snapshot.bases
    assert [f.code for f in snapshot.findings if f.file == rel] == ["QV102"]


def test_deleting_the_cache_or_the_limits_changing_reloads_everything(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    clean = _values(tmp_path)
    assert _values(tmp_path) == clean
    (tmp_path / ".qv" / "cache" / "parse.qvc").write_bytes(b"junk")
    (tmp_path / ".qv" / "cache" / "tree.qvc").write_bytes(b"junk")
    assert _values(tmp_path) == clean
    project = tmp_path / "qv.yaml"
    project.write_text(project.read_text() + "  limits: {max_file_bytes: 10}\n")
    snapshot = load_snapshot(WorkTreeSource(tmp_path))
    assert not snapshot.bases  # every file is now over the limit: none comes from the index
    assert {f.code for f in snapshot.findings} >= {"QV106"}


def test_replace_tags_survive_the_cache(tmp_path: Path) -> None:
    from qv_config.yamlio import ReplaceDict, ReplaceList

    aged_starter(tmp_path)
    overlay = tmp_path / "strategies" / "tagged.yaml"
    overlay.write_text(
        "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: tagged}\n"
        "spec:\n  limits: !replace {a: 1}\n  tags: !replace [x, {b: [1, 2]}]\n"
    )
    old = os.stat(tmp_path).st_mtime - 60
    os.utime(overlay, (old, old))
    first = load_snapshot(WorkTreeSource(tmp_path)).bases["strategies/tagged.yaml"]
    second = load_snapshot(WorkTreeSource(tmp_path)).bases["strategies/tagged.yaml"]
    assert isinstance(second, LazyDoc)
    assert second.unread
    assert second.data == first.data
    assert type(second.data["spec"]["limits"]) is ReplaceDict
    assert type(second.data["spec"]["tags"]) is ReplaceList
    assert type(second.data["spec"]["tags"][1]["b"]) is list


def test_a_few_edits_do_not_rewrite_the_values_and_are_still_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qv_config.cache import parse

    aged_starter(tmp_path)
    load_snapshot(WorkTreeSource(tmp_path))
    cache_file = tmp_path / ".qv" / "cache" / "parse.qvc"
    written = cache_file.read_bytes()
    paths = sorted((tmp_path / "strategies").rglob("*.yaml"))
    old = os.stat(tmp_path).st_mtime - 30
    for round_ in (1, 2):  # edited twice: each run reads it again, the file stays as it was
        paths[0].write_text(paths[0].read_text().replace("owner: ", f"owner: r{round_}", 1))
        os.utime(paths[0], (old + round_, old + round_))
        rel = paths[0].relative_to(tmp_path).as_posix()
        for _ in range(2):
            doc = load_snapshot(WorkTreeSource(tmp_path)).bases[rel]
            assert doc.data["metadata"]["owner"].startswith(f"r{round_}")
            assert not doc.unread  # type: ignore[attr-defined]  # read again, never the old entry
        assert cache_file.read_bytes() == written
    monkeypatch.setattr(parse, "_SLACK", 0)  # more edits than the bound: rewritten
    load_snapshot(WorkTreeSource(tmp_path))
    assert cache_file.read_bytes() != written
    again = load_snapshot(WorkTreeSource(tmp_path)).bases[rel]
    assert isinstance(again, LazyDoc)
    assert again.unread
    assert again.data["metadata"]["owner"].startswith("r2")
