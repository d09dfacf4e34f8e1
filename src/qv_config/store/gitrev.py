"""The Git questions the store layer asks: resolve a revision, ancestry (for monotonic applies)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qv_config.errors import GitError
from qv_config.repo.gitcmd import UNSHALLOW, error
from qv_config.repo.gitcmd import run as _git


def resolve(root: Path, rev: str) -> str:
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not out.ok:
        raise GitError(
            f"unknown revision {rev!r} in {root}",
            hint="pass a commit, branch or tag that exists (git fetch first if needed)",
        )
    return out.text.strip()


def try_resolve(root: Path, rev: str) -> str | None:
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return out.text.strip() if out.ok else None


def descendant_checker(root: Path) -> Callable[[str, str], bool]:
    """``git merge-base --is-ancestor old new`` in the project's repository."""

    def is_descendant(old: str, new: str) -> bool:
        out = _git(root, "merge-base", "--is-ancestor", old, new)
        if out.returncode in (0, 1):
            return out.ok
        raise error(
            f"cannot tell whether {new[:12]} descends from the deployed {old[:12]}", out, UNSHALLOW
        )

    return is_descendant
