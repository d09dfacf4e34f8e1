"""The listing of a large tree, made cheaper: ``git ls-tree -z`` output is decoded at once
(``repo.git._parse_ls_tree``), every entry as decoding it alone gives whatever bytes its path
holds (invalid UTF-8, tabs, spaces), and a real listing through Git names the same files; the
files of the environments asked for are kept by prefix (``repo.snapshot._in_envs``) exactly as
the test of each path's folder name kept them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qv_config.repo.git import GitSource, _parse_ls_tree
from qv_config.repo.snapshot import _in_envs


def _one_by_one(out: bytes, prefix: str) -> list[tuple[str, str, str]]:
    """The parse entry by entry (each path decoded alone), as it was written first."""
    found = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            path = raw_path.decode("utf-8", errors="surrogateescape")
            found.append((mode, sha, path[len(prefix) :]))
    return found


_PATHS = st.binary(min_size=1, max_size=12).filter(lambda raw: b"\0" not in raw)
_ENTRIES = st.lists(
    st.tuples(st.sampled_from([b"100644 blob", b"100755 blob", b"120000 blob", b"160000 commit"]),
              st.sampled_from([b"a" * 40, b"0123456789abcdef" * 4]), _PATHS),
    max_size=12,
)  # fmt: skip


@given(_ENTRIES, st.sampled_from(["", "sub/"]))
def test_decoded_at_once_as_entry_by_entry(
    entries: list[tuple[bytes, bytes, bytes]], prefix: str
) -> None:
    out = b"".join(
        meta + b" " + sha + b"\t" + prefix.encode() + path + b"\0" for meta, sha, path in entries
    )
    assert _parse_ls_tree(out, prefix) == _one_by_one(out, prefix)


def test_a_listing_through_git(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "strategies").mkdir(parents=True)
    (root / "qv.yaml").write_text("kind: Project\n")
    names = ["a.yaml", "tab\there.yaml", "caf\u00e9.yaml", "sp ace.yaml"]
    for name in names:
        (root / "strategies" / name).write_text("a: 1\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    source = GitSource(root, "HEAD")
    listed = source.list_files(["strategies"])
    assert sorted(listed) == sorted(
        ["qv.yaml", *(f"strategies/{n}" for n in names if "\t" not in n)]
    )
    assert list(source.problems) == ["strategies/tab\there.yaml"]  # refused by name (QV112)


def _kept_one_by_one(path: str, envs: list[str]) -> bool:
    """The test per path, as it was written first."""
    if not path.startswith("environments/"):
        return True
    return path.split("/", 2)[1] in envs


_PARTS = st.sampled_from(["environments", "dev", "prod", "de", "devx", "", "a.yaml", "strategies"])


@given(
    st.lists(st.lists(_PARTS, min_size=1, max_size=4).map("/".join)), st.lists(_PARTS, max_size=3)
)
def test_the_environments_files_kept_by_prefix_as_by_folder_name(
    paths: list[str], envs: list[str]
) -> None:
    files = dict.fromkeys(paths, "blob")
    kept = {path: blob for path, blob in files.items() if _kept_one_by_one(path, envs)}
    assert _in_envs(files, envs) == kept
