"""What ``qv promote`` works out and does: the plan (file edits, fields left to people) and
the result (branch, commit, digest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qv_config.diff.model import EnvDiff
from qv_config.forge.types import PullRequest

FileOp = Literal["create", "edit", "delete"]


@dataclass(frozen=True)
class FileEdit:
    """One file of TARGET written (or removed) by the promotion, with its text before/after."""

    path: str
    op: FileOp
    refs: tuple[str, ...]  # the documents it carries (``kind-slug/name``)
    before: str  # "" when created
    after: str  # "" when deleted
    overlay: bool = False  # an overlay of a base document (not the document itself)


@dataclass(frozen=True)
class ByHand:
    """A field a promotion does not write, and why: a secret is never decrypted to be copied,
    and ciphertext is never copied between environments (each has its own keys and MAC)."""

    ref: str
    field: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What promoting SOURCE to TARGET changes: the effective difference it removes (TARGET
    before → SOURCE, env-specific fields left out) and the file edits that remove it."""

    source: str
    target: str
    source_sha: str  # the commit promoted from (the work tree is clean: HEAD)
    diff: EnvDiff  # TARGET before → TARGET after (= SOURCE), env-specific fields aside
    edits: tuple[FileEdit, ...]
    by_hand: tuple[ByHand, ...]
    target_digest: str  # of TARGET's rendered desired state after the edits
    selectors: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.edits

    @property
    def short_sha(self) -> str:
        return self.source_sha[:7]


@dataclass(frozen=True)
class Promotion:
    """A promotion done: the plan, and the branch and commit that carry it (none: dry run or
    nothing to promote)."""

    plan: Plan
    branch: str = ""
    commit: str = ""
    pushed_to: str = ""  # the remote, when pushed
    dry_run: bool = False
    pull: PullRequest | None = None  # its pull request on GitHub (--open-pr)
