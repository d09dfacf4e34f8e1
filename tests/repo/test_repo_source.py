"""Listing the work tree: which files qv sees, and the stats it takes while listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qv_config.errors import OperationalError
from qv_config.repo.source import WorkTreeSource


def _tree(root: Path) -> None:
    files = {
        "qv.yaml": "kind: Project\n",
        "templates/base.yaml": "a: 1\n",
        "environments/dev/environment.yaml": "b: 2\n",
        "environments/dev/configs/deep/svc.yaml": "c: 3\n",
        "environments/dev/.hidden.yaml": "d: 4\n",
        "environments/.secret/x.yaml": "e: 5\n",
        "strategies/s.yaml": "f: 6\n",
        "unrelated/other.yaml": "g: 7\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


EXPECTED = {
    "qv.yaml",
    "templates/base.yaml",
    "environments/dev/environment.yaml",
    "environments/dev/configs/deep/svc.yaml",
    "strategies/s.yaml",
}


def test_lists_qv_folders_only_and_skips_dot_entries(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert set(WorkTreeSource(tmp_path).list_files(["strategies"])) == EXPECTED


def test_descriptor_walk_and_portable_walk_agree(tmp_path: Path) -> None:
    _tree(tmp_path)
    by_fd, by_path = WorkTreeSource(tmp_path), WorkTreeSource(tmp_path)
    fd_out: dict[str, str] = {}
    path_out: dict[str, str] = {}
    by_fd._walk_at(f"{tmp_path}/environments", "environments", fd_out)
    by_path._walk(f"{tmp_path}/environments", "environments", path_out)
    assert fd_out == path_out
    assert by_fd._walked == by_path._walked


def test_listing_stats_are_the_files_stats(tmp_path: Path) -> None:
    _tree(tmp_path)
    source = WorkTreeSource(tmp_path)
    source.list_files(["strategies"])
    rel = "environments/dev/configs/deep/svc.yaml"
    st = os.stat(tmp_path / rel)
    assert source.stat(rel) == (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
    # Taken once: a second stat looks the file up again (and sees an edit made meanwhile).
    (tmp_path / rel).write_text("c: 30\n")
    again = source.stat(rel)
    assert again is not None
    assert again[1] == len("c: 30\n")


def test_symlinked_folder_is_not_followed_but_symlinked_file_is(tmp_path: Path) -> None:
    _tree(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "leak.yaml").write_text("x: 1\n")
    (tmp_path / "environments/dev/linked").symlink_to(outside, target_is_directory=True)
    (tmp_path / "environments/dev/alias.yaml").symlink_to(outside / "leak.yaml")
    files = set(WorkTreeSource(tmp_path).list_files(["strategies"]))
    assert "environments/dev/linked/leak.yaml" not in files
    assert "environments/dev/alias.yaml" in files


def test_missing_folders_and_a_file_in_place_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "qv.yaml").write_text("kind: Project\n")
    (tmp_path / "templates").write_text("not a folder\n")
    assert set(WorkTreeSource(tmp_path).list_files(["strategies"])) == {"qv.yaml"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_folder_is_an_error_not_a_silent_gap(tmp_path: Path) -> None:
    _tree(tmp_path)
    locked = tmp_path / "environments/dev/configs"
    locked.chmod(0)
    try:
        with pytest.raises(OperationalError, match="cannot list environments/dev/configs/"):
            WorkTreeSource(tmp_path).list_files(["strategies"])
    finally:
        locked.chmod(0o755)
