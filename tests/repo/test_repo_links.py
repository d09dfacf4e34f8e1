"""The rule of repo.files: which links and names qv reads, the same in the work tree and at a
revision. A link out of the repository, dangling, to a folder or in a loop is QV111 naming the
link; a name with a control character or bytes that are not UTF-8 is QV112, escaped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.repo.linktree import MARK, git, inside_link, outside, refused_links, starter

from qv_config.repo import GitSource, WorkTreeSource, load_snapshot
from qv_config.repo.files import RefusedFile, escape, join, name_problem

BASES = ["strategies"]


def _both(root: Path) -> tuple[WorkTreeSource, GitSource]:
    return WorkTreeSource(root), GitSource(root, "HEAD")


def _refused(source: WorkTreeSource | GitSource) -> dict[str, tuple[str, str]]:
    return {p: (r.code, r.reason) for p, r in source.problems.items()}


def test_work_tree_and_revision_list_and_refuse_the_same_links(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    expected = refused_links(root, outside(tmp_path))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "links")
    work, rev = _both(root)
    listed = work.list_files(BASES)
    assert set(listed) == set(rev.list_files(BASES))
    assert not set(expected) & set(listed)
    assert _refused(work) == _refused(rev)
    assert set(work.problems) == set(expected)
    for link, why in expected.items():
        refused = work.problems[link]
        assert refused.code == "QV111"
        assert why in refused.reason, link
        finding = refused.finding()
        assert finding.file == link
        assert MARK not in finding.message
        assert str(tmp_path / "outside") not in finding.message  # the target is not named
    for source in (work, rev):
        for link in expected:
            assert source.read(link) is None
        with pytest.raises(RefusedFile):
            source.read_strict("policy/approvals.yaml")  # refused, never "absent"
        assert source.read_strict("policy/none.yaml") is None


def test_a_link_to_a_file_inside_is_read_as_that_file_in_both(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    link = inside_link(root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "link")
    real = (root / "environments/prod/shared/example-service.txt").read_bytes()
    for source in _both(root):
        assert link in source.list_files(BASES)
        assert source.read(link) == real
        assert source.problems == {}
    work = load_snapshot(WorkTreeSource(root), use_cache=False)
    rev = load_snapshot(GitSource(root, "HEAD"), use_cache=False)
    assert work.findings == rev.findings == ()
    doc = work.environments["prod"].documents[link]
    assert doc.data == rev.environments["prod"].documents[link].data
    assert doc.data["spec"]["endpoints"]["http"].endswith(".prod.internal")


def test_links_through_a_folder_link_or_to_hidden_files_are_refused_on_read(
    tmp_path: Path,
) -> None:
    root = starter(tmp_path / "repo")
    (root / "environments/dev/configs-link").symlink_to("configs")
    (root / "templates/to-dev.yaml").symlink_to("../environments/dev/environment.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "folder link")
    for source in _both(root):
        assert source.read("environments/dev/configs-link/example-service.yaml") is None
        assert source.read(".git/config") is None
        assert source.read("../outside.yaml") is None
        assert source.read("/etc/passwd") is None
        assert "environments/dev/configs-link" in source.problems
        assert source.read("templates/to-dev.yaml") is None  # another area


def test_qv_yaml_linked_out_of_the_tree_is_qv111_not_missing(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    out = outside(tmp_path)
    (root / "qv.yaml").unlink()
    (root / "qv.yaml").symlink_to(out / "doc.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "qv.yaml link")
    for source in _both(root):
        snapshot = load_snapshot(source, use_cache=False)
        codes = {(f.code, f.file) for f in snapshot.findings}
        assert ("QV111", "qv.yaml") in codes
        assert ("QV205", "qv.yaml") not in codes
        assert snapshot.project_info is None


BAD_NAMES = {
    "bad\nname.yaml": "a newline",
    "\x1b[31mred.yaml": "a control character",
    "evil\u202etxt.yaml": "a bidirectional-text control character",
}


def test_names_with_control_characters_are_qv112_in_both_and_escaped(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    folder = root / "environments/dev"
    for name in BAD_NAMES:
        (folder / name).write_text("kind: Config\n")
    os.mkdir(os.fsencode(folder) + b"/sub\n")
    (folder / "sub\n" / "x.yaml").write_text("kind: Config\n")
    with open(os.fsencode(folder) + b"/latin\xe9.yaml", "wb") as handle:  # not UTF-8
        handle.write(b"kind: Config\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "bad names")
    work, rev = _both(root)
    assert set(work.list_files(BASES)) == set(rev.list_files(BASES))
    assert _refused(work) == _refused(rev)
    reasons = {p.rsplit("/", 1)[1]: r.reason for p, r in work.problems.items()}
    assert reasons == {
        **BAD_NAMES,
        "sub\n": "a newline",
        "latin\udce9.yaml": "bytes that are not UTF-8",
    }
    files = {r.finding().file for r in work.problems.values()}
    assert files == {
        "environments/dev/bad\\nname.yaml",
        "environments/dev/\\x1b[31mred.yaml",
        "environments/dev/evil\\u202etxt.yaml",
        "environments/dev/sub\\n",
        "environments/dev/latin\\xe9.yaml",
    }
    for finding in (r.finding() for r in work.problems.values()):
        assert finding.code == "QV112"
        assert finding.message.isprintable()


def test_name_rules() -> None:
    assert name_problem("momentum-eu.yaml") is None
    assert name_problem("caf\u00e9 ok.yaml") is None  # non-ASCII letters are fine
    assert name_problem("a\u00a0b") is None  # a no-break space: odd, harmless
    assert name_problem("a\tb") == "a control character"
    assert escape("a\\b\x07") == "a\\\\b\\x07"
    assert join("environments/dev", "../prod/x.yaml") == "environments/prod/x.yaml"
    assert join("environments", "../../x") is None
    assert join("a", "/etc/passwd") is None
    assert join("a", "../.git/config") is None
