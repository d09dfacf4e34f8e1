"""Walking Git history cheaply: commit metadata and the *input key* of an environment per commit.

The effective configuration of environment E at a commit depends only on these trees:
``qv.yaml``, ``templates/``, the ``bases`` folders, ``environments/E/`` and ``schemas/``. Their
object ids, read for many commits through one ``git cat-file --batch-check`` process, form the
input key: equal keys mean equal effective configuration, so history walks render only commits
whose key changed (and a renderer cache can be keyed by it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import GitError

_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%s")


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str  # ISO 8601 with offset
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


def git(root: Path, *args: str, input_text: str | None = None) -> str:
    """Run git in ``root``; a failure becomes a ``GitError`` with git's own words."""
    proc = subprocess.run(
        ["git", *args], cwd=root, input=input_text, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def first_parent_log(root: Path, rev: str, limit: int | None = None) -> list[CommitInfo]:
    """Commits from ``rev`` back along first parents, newest first."""
    args = ["log", "-z", "--first-parent", f"--format={'%x1f'.join(_FIELDS)}"]
    if limit is not None:
        args.append(f"-n{limit}")
    out = git(root, *args, rev, "--")
    commits = []
    for record in filter(None, out.split("\0")):
        sha, parents, author, email, date, subject = record.strip("\n").split("\x1f")
        commits.append(CommitInfo(sha, tuple(parents.split()), author, email, date, subject))
    return commits


def input_paths(env: str, bases: Sequence[str]) -> tuple[str, ...]:
    return ("qv.yaml", "templates", *bases, f"environments/{env}", "schemas")


def input_keys(root: Path, revs: Sequence[str], paths: Sequence[str]) -> dict[str, str]:
    """rev -> key made of the object ids of ``paths`` at that rev (``-`` where a path is absent)."""
    if not revs:
        return {}
    queries = [f"{rev}:{path}" for rev in revs for path in paths]
    out = git(root, "cat-file", "--batch-check=%(objectname)", input_text="\n".join(queries) + "\n")
    ids = [line.split()[0] if not line.endswith("missing") else "-" for line in out.splitlines()]
    width = len(paths)
    return {rev: ",".join(ids[i * width : (i + 1) * width]) for i, rev in enumerate(revs)}


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    """True when ``older`` is an ancestor of (or equal to) ``newer``."""
    proc = subprocess.run(
        ["git", "merge-base", "--is-ancestor", older, newer],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode > 1:
        raise GitError(
            f"cannot compare {older[:10]} and {newer[:10]}: {proc.stderr.decode().strip()}",
            hint="fetch more history: git fetch --unshallow",
        )
    return proc.returncode == 0


def default_base(root: Path) -> str:
    """The merge-base of HEAD with the main branch (``origin/main`` preferred, then ``main``)."""
    for candidate in ("origin/main", "main", "origin/master", "master"):
        proc = subprocess.run(
            ["git", "merge-base", "HEAD", candidate],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    raise GitError(
        "cannot find the merge-base of HEAD with main",
        hint="pass --base REV, or fetch the main branch (git fetch origin main; in a shallow "
        "clone: git fetch --unshallow)",
    )
