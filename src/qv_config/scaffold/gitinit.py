"""The Git step of ``qv init``: a new repository on ``main`` with the starter tree committed, so
that ``qv sync`` (which deploys commits) and ``qv review`` (which compares with ``main``) work at
once. A folder already inside a Git work tree is left to its owner: nothing is initialised or
committed there."""

from __future__ import annotations

from pathlib import Path

from qv_config.repo import gitcmd

MESSAGE = "qv init: starter configuration repository"
# Used only when git knows no identity (a fresh machine, a container): the commit says who made it.
_FALLBACK = ("-c", "user.name=qv init", "-c", "user.email=qv-init@localhost")


def inside_work_tree(dest: Path) -> bool:
    done = gitcmd.run(dest, "rev-parse", "--is-inside-work-tree")
    return done.ok and done.text.strip() == "true"


def init_and_commit(dest: Path) -> tuple[str, bool]:
    """``git init -b main`` in ``dest``, everything added and committed; returns the commit and
    whether git's own identity was missing (the fallback identity was used)."""
    gitcmd.output(dest, "init", "-q", "-b", "main", what="git init failed")
    gitcmd.output(dest, "add", "-A", what="git add failed")
    anonymous = not gitcmd.run(dest, "var", "GIT_COMMITTER_IDENT").ok
    identity = _FALLBACK if anonymous else ()
    gitcmd.output(dest, *identity, "commit", "-q", "-m", MESSAGE, what="git commit failed")
    return gitcmd.text(dest, "rev-parse", "HEAD").strip(), anonymous
