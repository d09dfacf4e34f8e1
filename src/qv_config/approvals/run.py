"""The use cases behind ``qv approvals``, ``qv approve`` and ``qv review``'s approvals section:
several environments of one change, their renders shared in one ``Workspace``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qv_config.approvals.model import ReviewSource, Verdict
from qv_config.approvals.sign import Signed
from qv_config.errors import UsageError


def verdicts(
    root: Path,
    envs: Sequence[str],
    base: str | None,
    rev: str,
    *,
    store: str | None = None,
    sources: Sequence[ReviewSource] = (),
) -> list[Verdict]:
    """One verdict per environment (every one of qv.yaml at ``rev`` when ``envs`` is empty);
    ``base`` None: each environment's default base (``approvals.base``)."""
    from qv_config.approvals.base import choose
    from qv_config.approvals.change import compute
    from qv_config.approvals.evaluate import decide
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        out = []
        for env in envs or all_envs(ws, rev):
            chosen = choose(root, env, base, store)
            out.append(decide(ws, compute(ws, env, chosen.rev, rev), sources))
        return out
    finally:
        ws.close()


def sign_all(
    root: Path,
    envs: Sequence[str],
    base: str | None,
    rev: str,
    key: Path,
    identity: str | None,
    store: str | None = None,
) -> list[Signed]:
    """Sign and store one approval per environment (``qv approve``)."""
    from qv_config.approvals.base import choose
    from qv_config.approvals.sign import approve
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        return [
            approve(ws, env, choose(root, env, base, store).rev, rev, key, identity) for env in envs
        ]
    finally:
        ws.close()


def all_envs(ws: object, rev: str) -> list[str]:
    from qv_config.diff.states import Workspace

    assert isinstance(ws, Workspace)
    project = ws.project(ws.resolve(rev))
    if project is None:
        raise UsageError(f"qv.yaml at {rev} is missing or invalid", hint="run `qv validate`")
    return list(project.spec.environments)
