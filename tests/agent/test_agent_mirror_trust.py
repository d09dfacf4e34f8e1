"""The agent's Git mirror inside a checkout: only a mirror the agent made is used, and git runs
in it by ``--git-dir`` only. Real agent processes on real Git repositories."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    return h.make_repo(tmp_path / "repo")


def _mirror_of(workdir: Path, source: Path) -> Path:
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    return workdir / ".qv" / "agent" / digest


def _commit_all(h: Any, root: Path, message: str) -> None:
    h.git(root, "add", "-f", "-A")
    h.git(root, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", message)


def _hostile_checkout(tmp_path: Path, repo: Path, h: Any) -> tuple[Path, Path]:
    """A checkout of ``repo`` whose history ships a bare repository where the agent's default
    mirror goes: a hook that writes PROOF, and a config pointing origin at another repository."""
    other = h.make_repo(tmp_path / "other")
    h.commit_notional(other, 12345)
    work = tmp_path / "work"
    h.git(tmp_path, "clone", "-q", str(repo), str(work))
    planted = _mirror_of(work, repo)
    h.git(tmp_path, "clone", "-q", "--mirror", str(other), str(planted))
    (planted / "refs" / ".keep").touch()
    proof = tmp_path / "PROOF"
    hook = planted / "hooks" / "reference-transaction"
    hook.write_text(f"#!/bin/sh\necho ran > {proof}\ncat >/dev/null\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    _commit_all(h, work, "a PR that ships .qv/agent/...")
    shutil.rmtree(work / ".qv")
    h.git(work, "checkout", "-q", "--", ".qv")  # as a fresh clone has it
    return work, proof


def test_a_committed_mirror_is_not_used_its_hooks_and_config_do_nothing(
    tmp_path: Path, repo: Path, h: Any
) -> None:
    work, proof = _hostile_checkout(tmp_path, repo, h)
    tip = h.commit_notional(repo, 90000)
    url = f"sqlite:{tmp_path}/state.db"
    done = h.run_once(work, "--env", "dev", "--source", str(repo), "--store", url)
    assert done.returncode == 0, done.stderr
    assert not proof.exists()  # the committed hook never ran
    assert h.deployed(url, tmp_path) == tip  # from the real source, not the planted origin
    assert '"event": "mirror_untrusted"' in done.stderr
    assert "not made by this agent" in done.stderr or "mark" in done.stderr


def test_the_agents_own_mirror_is_used_again(tmp_path: Path, repo: Path, h: Any) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    argv = ("--env", "dev", "--source", str(repo), "--store", url)
    assert h.run_once(tmp_path, *argv).returncode == 0
    head = _mirror_of(tmp_path, repo) / "HEAD"
    made = head.stat().st_ino
    h.commit_notional(repo, 90000)
    second = h.run_once(tmp_path, *argv)
    assert second.returncode == 0, second.stderr
    assert "mirror_untrusted" not in second.stderr
    assert head.stat().st_ino == made  # fetched into, not cloned again


def test_an_edited_mirror_config_is_not_trusted(tmp_path: Path, repo: Path, h: Any) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    argv = ("--env", "dev", "--source", str(repo), "--store", url)
    assert h.run_once(tmp_path, *argv).returncode == 0
    other = h.make_repo(tmp_path / "other")
    config = _mirror_of(tmp_path, repo) / "config"
    config.write_text(config.read_text().replace(str(repo.resolve()), str(other)))
    tip = h.commit_notional(repo, 90000)
    second = h.run_once(tmp_path, *argv)
    assert second.returncode == 0, second.stderr
    assert '"event": "mirror_untrusted"' in second.stderr
    assert h.deployed(url, tmp_path) == tip


def test_a_damaged_mirror_in_a_checkout_is_recloned_not_the_checkout_fetched(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    """With the workdir a checkout, git run in a mirror whose HEAD is garbage must not find the
    checkout around it (its FETCH_HEAD stays untouched); the mirror is cloned again."""
    work = tmp_path / "work"
    h.git(tmp_path, "clone", "-q", str(repo), str(work))
    (work / ".git" / "info" / "exclude").write_text(".qv/\n")
    url = f"sqlite:{tmp_path}/state.db"
    agent = spawn(
        work,
        *("--env", "dev", "--source", str(repo), "--store", url),
        *("--interval", "0.3", "--lease-ttl", "3", "--max-backoff", "0.6"),
    )
    h.wait_for(lambda: agent.events("applied"), what="the first sync")
    (_mirror_of(work, repo) / "HEAD").write_text("garbage\n")
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: agent.events("mirror_recloned"), what="cloned again")
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="the new commit applied")
    assert not (work / ".git" / "FETCH_HEAD").exists()
    assert agent.proc.poll() is None
    assert agent.get("/healthz")[0] == 200


def test_git_in_a_mirror_never_looks_above_it(tmp_path: Path, h: Any) -> None:
    from qv_config.errors import GitError
    from qv_config.repo import gitcmd

    outer = h.make_repo(tmp_path / "outer")
    mirror = outer / "m"
    subprocess.run(["git", "clone", "-q", "--mirror", str(outer), str(mirror)], check=True)
    gitcmd.bare_repository(mirror)
    assert gitcmd.text(mirror, "rev-parse", "--is-bare-repository").strip() == "true"
    (mirror / "HEAD").write_text("garbage\n")
    with pytest.raises(GitError, match="not a git repository"):
        gitcmd.text(mirror, "rev-parse", "--git-dir")
