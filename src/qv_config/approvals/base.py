"""The base of a change when none is named: what is deployed, else the merge-base with main.

1. The revision in the environment's store ``_meta`` (``--store``, ``QV_STORE``, ``spec.store``)
   when the store answers and that commit is in this repository: approvals then bind the change
   the agent will make.
2. Else the merge-base of HEAD with the default branch (``origin/main``, ``main``, ...): what CI
   of a pull request has, and what the deployed state is once main is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import QvError
from qv_config.repo import gitcmd


@dataclass(frozen=True, slots=True)
class Base:
    rev: str
    why: str  # "--base", "deployed (store _meta)", "merge-base with main"


def choose(root: Path, env: str, given: str | None, store: str | None = None) -> Base:
    from qv_config.repo.history import default_base

    if given:
        return Base(given, "--base")
    deployed = deployed_revision(root, env, store)
    if deployed:
        return Base(deployed, "deployed (store _meta)")
    return Base(default_base(root), "merge-base with main")


def deployed_revision(root: Path, env: str, store: str | None) -> str | None:
    """The deployed revision of ``env`` when the store answers and Git has that commit."""
    from qv_config.store import open_store
    from qv_config.store.apply import read_meta
    from qv_config.store.source import store_url_for

    try:
        target = open_store(store_url_for(root, env, store), root, create=False)
        try:
            meta = read_meta(target, env, target.read_index(env).meta_raw)
        finally:
            target.close()
    except QvError:  # no store (CI), unreachable, unreadable: the next rule applies
        return None
    if meta is None:
        return None
    known = gitcmd.run(root, "cat-file", "-e", f"{meta.revision}^{{commit}}")
    return meta.revision if known.ok else None
