"""``qv promote --open-pr``: the promotion's pull request on GitHub, through ``forge/``.

Everything the forge needs (the token, the repository, the API URL, the branch the pull
request goes into) is checked before the promotion writes anything, so a missing
``GITHUB_TOKEN`` leaves no branch behind; GitHub refusing after the push says what is left.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.errors import ForgeError, QvError, UsageError
from qv_config.promote.model import Promotion
from qv_config.promote.report import pr_body, pr_title
from qv_config.safetext import safe

if TYPE_CHECKING:
    from qv_config.forge.github import GitHub


def prepare(root: Path, base: str | None) -> tuple[GitHub, str]:
    """The forge client and the branch the pull request goes into (``base``, else the branch
    checked out, which the promotion commit is made on top of)."""
    from qv_config.forge.env import from_env
    from qv_config.promote.branch import checked_out_branch

    into = base or checked_out_branch(root)
    if into is None:
        raise UsageError(
            "HEAD is detached: --open-pr needs the branch the pull request goes into",
            hint="name it with --base BRANCH",
        )
    return from_env(root), into


def open_for(forge: GitHub, root: Path, base: str, done: Promotion) -> Promotion:
    """``done`` with its pull request opened (or, open already, its body updated): the
    promotion's markdown, then the approvals TARGET's policy still asks for."""
    plan = done.plan
    body = pr_body(plan) + "\n" + approvals_needed(root, done)
    try:
        pull = forge.open_pull(done.branch, base, pr_title(plan), body)
    except ForgeError as err:
        left = (
            f"branch {safe(done.branch)} is committed and pushed to {safe(done.pushed_to)}: open"
            " its pull request on GitHub, or delete the branch and run qv promote again"
        )
        raise ForgeError(err.message, hint=f"{err.hint}; {left}", status=err.status) from None
    return replace(done, pull=pull)


def approvals_needed(root: Path, done: Promotion) -> str:
    """What ``qv approvals --env TARGET`` says of the promotion commit, as markdown: the rules
    of the policy at its base (the commit promoted from) and what each still needs. Worked out
    for the pull request's readers, never a reason not to open it: a failure is said there."""
    from qv_config.approvals import evaluate
    from qv_config.approvals.reporters import markdown

    try:
        verdict = evaluate(root, done.plan.target, done.plan.source_sha, done.commit)
    except QvError as err:
        return f"### Approvals\n\n`qv approvals` could not tell: {safe(str(err), 400)}\n"
    return markdown([verdict])
