"""The Git questions the store layer asks: resolve a revision, ancestry (for monotonic applies)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from qv_config.errors import GitError


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as err:
        raise GitError(f"cannot run git: {err}", hint="install git and put it on PATH") from None


def resolve(root: Path, rev: str) -> str:
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if out.returncode != 0:
        raise GitError(
            f"unknown revision {rev!r} in {root}",
            hint="pass a commit, branch or tag that exists (git fetch first if needed)",
        )
    return out.stdout.strip()


def try_resolve(root: Path, rev: str) -> str | None:
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return out.stdout.strip() if out.returncode == 0 else None


def descendant_checker(root: Path) -> Callable[[str, str], bool]:
    """``git merge-base --is-ancestor old new`` in the project's repository."""

    def is_descendant(old: str, new: str) -> bool:
        out = _git(root, "merge-base", "--is-ancestor", old, new)
        if out.returncode in (0, 1):
            return out.returncode == 0
        raise GitError(
            f"cannot tell whether {new[:12]} descends from the deployed {old[:12]}: "
            f"{out.stderr.strip() or 'unknown commit'}",
            hint="fetch the history that holds the deployed revision (git fetch --unshallow)",
        )

    return is_descendant
