"""Listing the work tree: which files qv sees, and the stats it takes while listing."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
    by_fd._walk_at(f"{tmp_path}/environments", "environments")
    by_path._walk(f"{tmp_path}/environments", "environments")
    assert by_fd.walk_stats() == by_path.walk_stats()
    assert len(by_fd.walk_stats()) == 2


def test_listing_stats_are_the_files_stats(tmp_path: Path) -> None:
    _tree(tmp_path)
    source = WorkTreeSource(tmp_path)
    source.list_files(["strategies"])
    rel = "environments/dev/configs/deep/svc.yaml"
    st = os.stat(tmp_path / rel)
    assert source.walk_stats()[rel] == (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
    paths, stats = source.listing()
    at = paths.index(rel)
    assert tuple(stats[4 * at : 4 * at + 4]) == source.walk_stats()[rel]
    # ``stat`` looks the file up again (and sees an edit made since the listing).
    (tmp_path / rel).write_text("c: 30\n")
    again = source.stat(rel)
    assert again is not None
    assert again[1] == len("c: 30\n")


def test_links_leaving_the_tree_or_to_folders_are_refused_links_inside_are_read(
    tmp_path: Path,
) -> None:
    _tree(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "leak.yaml").write_text("x: 1\n")
    (tmp_path / "environments/dev/linked").symlink_to(outside, target_is_directory=True)
    (tmp_path / "environments/dev/alias.yaml").symlink_to(outside / "leak.yaml")
    (tmp_path / "environments/dev/inside.yaml").symlink_to("configs/deep/svc.yaml")
    source = WorkTreeSource(tmp_path)
    files = set(source.list_files(["strategies"]))
    assert "environments/dev/linked/leak.yaml" not in files
    assert "environments/dev/alias.yaml" not in files
    assert "environments/dev/inside.yaml" in files
    assert source.read("environments/dev/inside.yaml") == b"c: 3\n"
    assert source.read("environments/dev/alias.yaml") is None
    assert set(source.problems) == {"environments/dev/linked", "environments/dev/alias.yaml"}


def test_missing_folders_and_a_file_in_place_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "qv.yaml").write_text("kind: Project\n")
    (tmp_path / "templates").write_text("not a folder\n")
    # Listed as the file it is (as at a revision); not YAML, so never loaded.
    assert set(WorkTreeSource(tmp_path).list_files(["strategies"])) == {"qv.yaml", "templates"}


def _list_unprivileged(root: Path) -> str:
    """List ``root`` as a user without root's powers: root reads every folder, so a root test
    run lists in a forked child that runs as ``nobody``."""
    if os.geteuid() != 0:
        try:
            WorkTreeSource(root).list_files(["strategies"])
        except OperationalError as err:
            return f"error: {err}"
        return "listed"
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, list, report the outcome, exit at once
        os.close(reader)
        try:
            os.setgid(65534)
            os.setuid(65534)
            WorkTreeSource(root).list_files(["strategies"])
            outcome = "listed"
        except OperationalError as err:
            outcome = f"error: {err}"
        except BaseException as err:  # anything else fails the test in the parent
            outcome = f"unexpected: {type(err).__name__}: {err}"
        os.write(writer, outcome.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


def test_unreadable_folder_is_an_error_not_a_silent_gap() -> None:
    base = Path(tempfile.mkdtemp(prefix="qv-perm-"))
    try:
        base.chmod(0o755)
        _tree(base)
        for folder in base.rglob("*"):
            folder.chmod(0o755 if folder.is_dir() else 0o644)
        locked = base / "environments/dev/configs"
        locked.chmod(0o700 if os.geteuid() == 0 else 0)  # nobody (or we) cannot list it
        outcome = _list_unprivileged(base)
        locked.chmod(0o755)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert outcome.startswith("error: cannot list environments/dev/configs/: permission denied")
