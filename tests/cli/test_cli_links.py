"""Symbolic links and hostile file names through the real ``qv`` command: no output of any
command, in any format, carries a file from outside the repository (an age key, a document), nor
the path it sits at; work tree and revision give the same answers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.qvbin import QV
from tests.repo.linktree import AGE_KEY, MARK, git, inside_link, outside, refused_links, starter


def qv(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [QV, "-C", str(root), *args],
        capture_output=True,
        text=True,
        errors="replace",
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A repository at tag ``clean`` then a commit adding every refused link (the work tree)."""
    base = tmp_path_factory.mktemp("links")
    root = starter(base / "repo")
    git(root, "tag", "clean")
    refused_links(root, outside(base))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "links")
    return root, base / "outside"


COMMANDS = [
    ("validate",),
    ("validate", "--format", "json"),
    ("validate", "--format", "github"),
    ("validate", "--format", "sarif"),
    ("validate", "environments/dev/leak.yaml"),
    ("render", "--env", "dev"),
    ("render", "--env", "dev", "--format", "json"),
    ("render", "--env", "dev", "--rev", "HEAD"),
    ("render", "--env", "prod", "--explain", "config/example-service:spec"),
    ("diff", "dev", "prod"),
    ("diff", "dev@clean", "dev", "--format", "markdown"),
    ("diff", "prod@clean", "prod@HEAD", "--format", "json"),
    ("review", "--base", "clean"),
    ("log", "--env", "dev"),
    ("sync", "--env", "dev", "--dry-run"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_command_shows_a_file_from_outside(linked: tuple[Path, Path], args: tuple[str]) -> None:
    root, out = linked
    done = qv(root, *args)
    text = done.stdout + done.stderr
    assert MARK not in text
    assert AGE_KEY not in text
    assert str(out) not in text  # nor where it is
    if args[0] in ("validate", "render", "sync") and "--explain" not in args:
        assert done.returncode == 1, text
        assert "QV111" in text


def test_validate_names_every_refused_link(linked: tuple[Path, Path]) -> None:
    root, _ = linked
    done = qv(root, "validate", "--format", "json")
    found = {(f["code"], f["file"]) for f in json.loads(done.stdout)["findings"]}
    assert {f for f in found if f[0] == "QV111"} == {("QV111", link) for link in _links(root)}


def _links(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_symlink() and ".git" not in p.parts
    }


def test_secrets_commands_refuse_a_link_out_of_the_tree(linked: tuple[Path, Path]) -> None:
    root, _ = linked
    for action in ("decrypt", "encrypt", "rotate"):
        done = qv(root, "secrets", action, str(root / "environments/dev/leak.yaml"))
        assert done.returncode == 2, done.stderr
        assert MARK not in done.stdout + done.stderr
    (root / "environments/dev/real.yaml").write_text("kind: Config\n")
    done = qv(root, "secrets", "encrypt", str(root / "environments/dev/real.yaml"))
    assert done.returncode == 2  # .sops.yaml is itself a link out of the tree: not read
    assert ".sops.yaml" in done.stderr
    assert MARK not in done.stderr
    (root / "environments/dev/real.yaml").unlink()


def test_schema_export_replaces_a_link_never_writes_through_it(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (root / "schemas/qv").mkdir(parents=True, exist_ok=True)
    (root / "schemas/qv/flag.schema.json").symlink_to(victim)
    assert qv(root, "schema", "export", "--check").returncode == 1  # a link is stale
    assert qv(root, "schema", "export").returncode == 0
    assert victim.read_text() == "keep me\n"
    assert not (root / "schemas/qv/flag.schema.json").is_symlink()


def test_revision_and_work_tree_agree_with_a_link_inside(tmp_path: Path) -> None:
    root = starter(tmp_path / "repo")
    link = inside_link(root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "prod reads dev's config")
    work = qv(root, "render", "--env", "prod", "--format", "json")
    rev = qv(root, "render", "--env", "prod", "--format", "json", "--rev", "HEAD")
    assert work.returncode == rev.returncode == 0, work.stderr
    assert work.stdout == rev.stdout
    http = json.loads(work.stdout)["prod/config/example-service"]["spec"]["endpoints"]["http"]
    assert http.endswith(".prod.internal")
    assert qv(root, "validate").returncode == 0
    work_diff = qv(root, "diff", "dev", "prod").stdout.splitlines()
    rev_diff = qv(root, "diff", "dev@HEAD", "prod@HEAD").stdout.splitlines()
    assert work_diff[1:] == rev_diff[1:]  # the first line names the sides
    # The link's target changes: the link's document changes with it, whichever way diff looks.
    target = root / "environments/prod/shared/example-service.txt"
    target.write_text(target.read_text().replace("2000000", "1900000"))
    git(root, "commit", "-qam", "prod notional")
    for args in (("prod@HEAD~1", "prod@HEAD"), ("prod@HEAD~1", "prod")):
        done = qv(root, "diff", *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert "max_order_notional" in done.stdout, (args, link)
    # Review diffs every environment with one workspace, dev (no link) before prod: dev's answer
    # to "a link at this revision?" must not stand for prod's (it hid this change).
    done = qv(root, "review", "--base", "HEAD~1")
    assert done.returncode == 0, done.stderr
    assert "max_order_notional" in done.stdout
