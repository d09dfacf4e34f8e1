"""What a promotion says: its commit message (with the trailers approvals bind to), the title
and body of its pull request (the risk-aware markdown diff), and the ``text``/``json``/
``markdown`` reports of ``qv promote``. Every string from the repository passes ``safetext``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from qv_config.diff.reporters import json_dumps as _dumps
from qv_config.diff.reporters import markdown_details, summary, to_data
from qv_config.errors import UsageError
from qv_config.promote.model import Plan, Promotion
from qv_config.safetext import escape, safe

MAX_LISTED = 50  # documents named in a commit message


def commit_message(plan: Plan) -> str:
    """``Promote SOURCE to TARGET``, the diff summary, each document and its fields, the
    fields left to people, and the trailers ``Promoted-From`` and ``Qv-Target-Digest``."""
    lines = [pr_title(plan), "", summary(plan.diff)]
    for change in plan.diff.changes[:MAX_LISTED]:
        fields = ", ".join(f.field for f in change.fields[:8])
        more = f" (+{len(change.fields) - 8})" if len(change.fields) > 8 else ""
        lines.append(f"- {change.op} {change.ref}" + (f": {fields}{more}" if fields else ""))
    if len(plan.diff.changes) > MAX_LISTED:
        lines.append(f"- … {len(plan.diff.changes) - MAX_LISTED} more document(s)")
    if plan.by_hand:
        lines += ["", "Left to people (secrets are never copied):"]
        lines += [f"- {item.ref} {item.field}" for item in plan.by_hand]
    lines += [
        "",
        f"Promoted-From: {plan.source}@{plan.source_sha}",
        f"Qv-Target-Digest: {plan.target_digest}",
    ]
    return "\n".join(lines) + "\n"


def pr_title(plan: Plan) -> str:
    """``Promote dev to staging: strategy/momentum-eu`` (or a count of documents)."""
    refs = [change.ref for change in plan.diff.changes]
    what = refs[0] if len(refs) == 1 else f"{len(refs)} documents"
    return f"Promote {plan.source} to {plan.target}: {what}"


def pr_body(plan: Plan) -> str:
    """The pull request's body: the risk-aware markdown diff (``diff.reporters``), the fields
    left to people and the trailers, so that ``--open-pr`` is one call."""
    lines = [
        f"Promotes **{plan.source}** (`{plan.short_sha}`) to **{plan.target}** with `qv promote`:"
        f" {escape(summary(plan.diff))}.",
        "",
        "| file | edit | documents |",
        "|---|---|---|",
    ]
    for edit in plan.edits:
        refs = ", ".join(f"`{safe(ref)}`" for ref in edit.refs)
        lines.append(f"| `{safe(edit.path)}` | {edit.op} | {refs} |")
    lines += ["", *markdown_details(plan.diff)]
    if plan.by_hand:
        lines += ["", "**Left to people** (secrets are never copied between environments):", ""]
        lines += [f"- `{safe(item.ref)}` `{safe(item.field)}`" for item in plan.by_hand]
    lines += ["", f"Qv-Target-Digest: `{plan.target_digest}`"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- reports of qv promote


def get(name: str) -> Callable[[Promotion], str]:
    table: dict[str, Callable[[Promotion], str]] = {
        "text": text,
        "json": as_json,
        "markdown": lambda done: pr_body(done.plan),
    }
    if name not in table:
        raise UsageError(f"unknown format {name!r}", hint=f"choose one of {', '.join(table)}")
    return table[name]


def text(done: Promotion) -> str:
    plan = done.plan
    head = f"promote {plan.source} → {plan.target} (from {plan.source}@{plan.short_sha})"
    if plan.empty:
        lines = [f"{head}: nothing to promote, {plan.target} equals {plan.source}"
                 " (env-specific fields aside)"]  # fmt: skip
        return "\n".join([*lines, *_by_hand(plan)]) + "\n"
    lines = [f"{head}: {summary(plan.diff)}", ""]
    for edit in plan.edits:
        what = "overlay" if edit.overlay else "document"
        refs = ", ".join(safe(ref) for ref in edit.refs)
        lines.append(f"  {edit.op:<7} {safe(edit.path)}  ({what}: {refs})")
    lines += _by_hand(plan)
    if done.dry_run:
        lines += ["", "dry run: no branch, nothing written; the edits:", ""]
        lines += [escape(line) for edit in plan.edits for line in unified(edit.path, edit)]
    else:
        lines += ["", f"branch {safe(done.branch)}: commit {done.commit[:10]}"]
        if done.pushed_to:
            lines.append(f"pushed to {safe(done.pushed_to)}")
        if done.pull is not None:
            did = "opened" if done.pull.created else "updated (it was open)"
            lines.append(f"pull request #{done.pull.number} {did}: {safe(done.pull.url)}")
    lines.append(f"Qv-Target-Digest: {plan.target_digest}")
    return "\n".join(lines) + "\n"


def _by_hand(plan: Plan) -> list[str]:
    if not plan.by_hand:
        return []
    lines = ["", "left to people:"]
    lines += [f"  {safe(i.ref)} {safe(i.field)}: {escape(i.reason)}" for i in plan.by_hand]
    return lines


def unified(path: str, edit: object) -> list[str]:
    """A file edit as a unified diff (``a/…`` → ``b/…``, ``/dev/null`` when created/removed)."""
    before = getattr(edit, "before", "")
    after = getattr(edit, "after", "")
    old = f"a/{path}" if before else "/dev/null"
    new = f"b/{path}" if after else "/dev/null"
    diff = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
    )
    return [line.rstrip("\n") for line in diff]


def as_json(done: Promotion) -> str:
    plan = done.plan
    data = {
        "source": plan.source,
        "target": plan.target,
        "source_sha": plan.source_sha,
        "selectors": list(plan.selectors),
        "empty": plan.empty,
        "dry_run": done.dry_run,
        "edits": [
            {
                "path": e.path,
                "op": e.op,
                "documents": list(e.refs),
                "overlay": e.overlay,
                "diff": "\n".join(unified(e.path, e)),
            }
            for e in plan.edits
        ],
        "by_hand": [{"ref": i.ref, "field": i.field, "reason": i.reason} for i in plan.by_hand],
        "diff": to_data(plan.diff),
        "branch": done.branch or None,
        "commit": done.commit or None,
        "pushed_to": done.pushed_to or None,
        "pull_request": None
        if done.pull is None
        else {"number": done.pull.number, "url": done.pull.url, "created": done.pull.created},
        "target_digest": plan.target_digest or None,
    }
    return _dumps(data)
