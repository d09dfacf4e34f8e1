"""``qv promote SOURCE TARGET [SELECTOR...]`` (SPEC §7): make TARGET's effective documents equal
SOURCE's, env-specific fields aside, by the smallest edits of TARGET's files, on a new branch
with one commit whose trailers name the source commit and TARGET's digest after the edit.

``promote`` does it; ``plan_promotion`` works it out (``--dry-run``); ``pr_title`` and
``pr_body`` are the pull request a forge client opens for it (``--open-pr``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qv_config.errors import UsageError
from qv_config.promote.model import ByHand, FileEdit, Plan, Promotion
from qv_config.promote.plan import plan_promotion
from qv_config.promote.report import commit_message, pr_body, pr_title


def default_branch(plan: Plan) -> str:
    return f"qv/promote/{plan.source}-to-{plan.target}/{plan.short_sha}"


def promote(
    root: Path,
    source: str,
    target: str,
    selectors: Sequence[str] = (),
    *,
    skip_order: bool = False,
    dry_run: bool = False,
    branch: str | None = None,
    push: bool = False,
    remote: str = "origin",
    open_pr: bool = False,
    base: str | None = None,
) -> Promotion:
    """Promote ``source`` to ``target``: a new branch ``branch`` (default ``default_branch``)
    with one commit, pushed to ``remote`` when ``push`` or ``open_pr``, and with ``open_pr``
    its pull request into ``base`` (default: the branch checked out) opened on GitHub. A dry
    run, or nothing to promote, makes no branch. The work tree and the branch checked out are
    never touched."""
    from qv_config.promote import pullrequest

    if open_pr and dry_run:
        raise UsageError(
            "--open-pr with --dry-run: a dry run makes no branch to open a pull request for",
            hint="drop one of them",
        )
    if branch is not None:
        from qv_config.promote.branch import check_branch_name

        check_branch_name(root, branch)  # before the work: a bad name fails fast
    if not open_pr:
        return _promote(root, source, target, selectors, skip_order, dry_run, branch, push, remote)
    forge, into = pullrequest.prepare(root, base)  # before anything is written
    with forge:
        done = _promote(root, source, target, selectors, skip_order, False, branch, True, remote)
        return pullrequest.open_for(forge, root, into, done) if done.branch else done


def _promote(
    root: Path,
    source: str,
    target: str,
    selectors: Sequence[str],
    skip_order: bool,
    dry_run: bool,
    branch: str | None,
    push: bool,
    remote: str,
) -> Promotion:
    from qv_config.promote.branch import check_branch_name, commit_branch, push_branch

    plan = plan_promotion(root, source, target, selectors, skip_order=skip_order)
    if plan.empty or dry_run:
        return Promotion(plan, dry_run=dry_run)
    name = branch or default_branch(plan)
    check_branch_name(root, name)
    texts = {edit.path: (edit.after if edit.op != "delete" else None) for edit in plan.edits}
    commit = commit_branch(root, plan.source_sha, texts, commit_message(plan), name)
    if push:
        push_branch(root, remote, name)
    return Promotion(plan, name, commit, remote if push else "")


__all__ = [
    "ByHand",
    "FileEdit",
    "Plan",
    "Promotion",
    "default_branch",
    "plan_promotion",
    "pr_body",
    "pr_title",
    "promote",
]
