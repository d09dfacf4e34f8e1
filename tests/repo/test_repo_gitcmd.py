"""One door to git: ``repo/gitcmd.py`` runs every git process, with one environment, one error
mapping and one ``cat-file --batch`` reader."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import qv_config
from qv_config.errors import GitError
from qv_config.repo import gitcmd

PACKAGE = Path(qv_config.__file__).resolve().parent
# Starting a process: allowed in the git door, in secrets/ (the sops binary), in the ssh-keygen
# door of approvals/ and in graph/svg.py (Graphviz's dot, for `qv graph --format svg`) only.
_DOORS = ("secrets/", "approvals/sshkeygen.py", "graph/svg.py")
_SPAWN = re.compile(
    r"\bimport subprocess\b|\bfrom subprocess\b|\bPopen\b|\bos\.(system|popen|exec\w*|spawn\w*|"
    r"posix_spawn\w*)\b"
)
_GIT_ARGV = re.compile(r"""\[\s*["']git["']\s*,""")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_module_but_gitcmd_starts_git_or_any_other_process() -> None:
    offenders = []
    for path in _modules():
        rel = _relative(path)
        if rel == "repo/gitcmd.py":
            continue
        text = path.read_text(encoding="utf-8")
        if _GIT_ARGV.search(text):
            offenders.append(f"{rel}: runs git itself")
        if not rel.startswith(_DOORS) and _SPAWN.search(text):
            offenders.append(f"{rel}: starts a process ({_SPAWN.search(text).group(0)})")  # type: ignore[union-attr]
    assert offenders == [], "route git through qv_config.repo.gitcmd:\n" + "\n".join(offenders)


def test_the_check_sees_the_patterns_it_forbids() -> None:
    assert _GIT_ARGV.search('subprocess.run(["git", "status"])')
    assert _SPAWN.search("import subprocess")
    assert _SPAWN.search("os.execvp(x, y)")
    assert not _SPAWN.search("from qv_config.repo import gitcmd")


def test_environment_never_prompts_pages_or_locks() -> None:
    env = gitcmd.env()
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_OPTIONAL_LOCKS"] == "0"
    assert env["GIT_PAGER"] == "cat"
    assert env["LC_ALL"] == "C"


def test_a_failure_is_a_git_error_with_git_words_and_a_hint(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        gitcmd.output(tmp_path, "rev-parse", "HEAD", what="cannot read HEAD")
    assert "cannot read HEAD: fatal: not a git repository" in caught.value.message
    assert caught.value.hint is not None
    assert "git init" in caught.value.hint
    done = gitcmd.run(tmp_path, "rev-parse", "HEAD")  # yes/no questions: the exit code
    assert not done.ok
    assert done.returncode == 128


def test_a_missing_folder_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        gitcmd.run(tmp_path / "absent", "status")


def _repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("alpha\n")
    (tmp_path / "d" / "link").symlink_to("a.txt")
    git("add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "one")
    return tmp_path


def test_one_batch_reader_reads_blobs_and_trees(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    batch = gitcmd.Batch(root)
    try:
        assert batch.read("HEAD:d/a.txt") == b"alpha\n"
        assert batch.read("HEAD:d/absent") is None
        assert batch.read("HEAD:d/bad\nname") is None  # cannot be asked: never sent
        found = batch.read_object("HEAD:d")
        assert found is not None
        kind, data = found
        assert kind == "tree"
        entries = gitcmd.tree_entries(data)
        assert entries["a.txt"][0] == "100644"
        assert entries["link"][0] == "120000"
        assert batch.read(entries["link"][1]) == b"a.txt"
    finally:
        batch.close()
    assert batch.read("HEAD:d/a.txt") == b"alpha\n"  # a closed reader starts again when asked
    batch.close()


def test_many_objects_are_asked_at_once(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "big.txt").write_bytes(b"x" * 300_000)  # more than a pipe holds, both ways
    names = [f"n{i}.txt" for i in range(2000)]
    for name in names:
        (root / name).write_text(f"{name}\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "two"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    specs = ["HEAD:big.txt", "HEAD:absent", "HEAD:bad\nname", *(f"HEAD:{n}" for n in names)]
    batch = gitcmd.Batch(root)
    try:
        found = batch.read_many([*specs, "HEAD:d/a.txt"])
        assert found["HEAD:big.txt"] == b"x" * 300_000
        assert found["HEAD:absent"] is None
        assert found["HEAD:bad\nname"] is None  # cannot be asked: never sent
        assert all(found[f"HEAD:{n}"] == f"{n}\n".encode() for n in names)
        assert batch.read("HEAD:d/a.txt") == b"alpha\n"  # the same reader, answering in step
    finally:
        batch.close()


def _checkout(root: Path) -> Path:
    root.mkdir()
    git = ["git", "-c", "user.name=a", "-c", "user.email=a@b"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    (root / "f").write_text("x\n")
    subprocess.run([*git, "add", "f"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=root, check=True)
    return root


def test_git_run_by_qv_runs_no_hook_and_no_fsmonitor(tmp_path: Path) -> None:
    """A repository's hooks and fsmonitor program never run under qv's git (they run code)."""
    root = _checkout(tmp_path / "r")
    proof = tmp_path / "PROOF"
    script = tmp_path / "run.sh"
    script.write_text(f"#!/bin/sh\necho ran >> {proof}\ncat >/dev/null\n")
    script.chmod(0o755)
    hook = root / ".git" / "hooks" / "reference-transaction"
    hook.symlink_to(script)
    subprocess.run(["git", "config", "core.fsmonitor", str(script)], cwd=root, check=True)
    head = gitcmd.text(root, "rev-parse", "HEAD").strip()
    gitcmd.output(root, "update-ref", "refs/heads/other", head)
    gitcmd.output(root, "status", "--porcelain")
    assert not proof.exists()


def test_a_bare_repository_inside_a_checkout_is_not_found_by_walking_up(tmp_path: Path) -> None:
    """A bare repository committed in a checkout is not picked up from a folder under it."""
    root = _checkout(tmp_path / "r")
    inner = root / "embedded"
    subprocess.run(["git", "init", "-q", "--bare", str(inner)], check=True)
    with pytest.raises(GitError, match="cannot use bare repository") as refused:
        gitcmd.output(inner, "rev-parse", "--git-dir")
    assert "clone the bare repository" in (refused.value.hint or "")
