"""Working out a promotion: which fields of TARGET differ from SOURCE (env-specific ones
aside), the smallest edits of TARGET's files that remove the difference, and a check of the
result before anything is written: TARGET rendered from the edited files must validate and
equal SOURCE. Everything happens in memory, on the commit checked out (the work tree must be
clean, so it is that commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.diff.compute import diff_documents
from qv_config.diff.envspecific import EnvSpecific
from qv_config.diff.model import EnvDiff
from qv_config.diff.run import no_gc, select_refs
from qv_config.diff.sides import mark_lookup
from qv_config.diff.states import Workspace
from qv_config.errors import CheckFailed, GitError, UsageError
from qv_config.promote.model import Plan
from qv_config.promote.writer import Writer

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot

PASSES = 3  # edit, render, compare: a copied document may need a second pass (templating)
Refs = Mapping[str, Mapping[str, Any]]


def plan_promotion(
    root: Path,
    source: str,
    target: str,
    selectors: Sequence[str] = (),
    *,
    skip_order: bool = False,
    use_cache: bool = True,
) -> Plan:
    """What promoting ``source`` to ``target`` (the documents ``selectors`` match, or all)
    writes. Refuses (``CheckFailed``) a dirty work tree, an invalid SOURCE, a TARGET that would
    not validate, and, without ``skip_order``, a TARGET that is not the next environment."""
    ws = Workspace(root, use_cache=use_cache)
    try:
        with no_gc():
            return _plan(ws, source, target, tuple(selectors), skip_order)
    finally:
        ws.close()


def _plan(
    ws: Workspace, source: str, target: str, selectors: tuple[str, ...], skip_order: bool
) -> Plan:
    head = clean_head(ws)
    settings = ws.settings(head)
    if settings is None:
        raise CheckFailed("qv.yaml is missing or invalid", hint="run `qv validate` to see why")
    check_order(list(settings.environments), source, target, skip_order)
    src, tgt = ws.fulls([(source, head, source), (target, head, target)])
    if src.problem:
        raise CheckFailed(
            f"{source} is invalid, nothing to promote from: {src.problem}",
            hint=f"fix it first (`qv validate --env {source}`)",
        )
    src_refs: Refs = promotable(src.refs)
    tgt_refs: Refs = promotable(tgt.refs)
    if selectors:
        src_refs, tgt_refs = select_refs(selectors, src_refs, tgt_refs, env=source)
    skip = settings.env_specific
    marks = mark_lookup(src.read, ws.cache_root)
    diff = diff_documents(tgt_refs, src_refs, marks=marks, ignore=skip,
                          left_label=target, right_label=f"{target} from {source}")  # fmt: skip
    if diff.empty:
        return Plan(source, target, head, diff, (), (), "", selectors)
    snap = _snapshot(ws, head, source, target)
    writer = Writer(snap, source, target, skip, marks)
    writer.first(diff, src_refs, tgt_refs)
    digest = _settle(ws, head, writer, src_refs, tgt.refs, skip)
    return Plan(source, target, head, diff, writer.edits(), writer.left(), digest, selectors)


def clean_head(ws: Workspace) -> str:
    """HEAD's sha, when the work tree holds nothing uncommitted (else ``CheckFailed``)."""
    from qv_config.repo import gitcmd

    if not ws.git:
        raise GitError(
            f"qv promote needs a Git repository, and {ws.root} is not in one",
            hint="run `git init` and commit the configuration first",
        )
    status = gitcmd.text(ws.root, "status", "--porcelain", "-z", "--", ".")
    dirty = [entry[3:] for entry in status.split("\0") if len(entry) > 3]
    if dirty:
        raise CheckFailed(
            f"the work tree has uncommitted changes ({len(dirty)} path(s), e.g. {dirty[0]!r}); "
            "a promotion starts from a commit",
            hint="commit or stash them first",
        )
    head = ws.resolve("HEAD")
    assert head is not None
    return head


def check_order(envs: list[str], source: str, target: str, skip_order: bool) -> None:
    """Both environments of qv.yaml (else exit 2); TARGET next after SOURCE unless skipped."""
    for env in (source, target):
        if env not in envs:
            raise UsageError(
                f"unknown environment {env!r}", hint=f"environments of qv.yaml: {', '.join(envs)}"
            )
    if source == target:
        raise UsageError(f"cannot promote {source} to itself", hint="name two environments")
    following = envs.index(source) + 1
    if not skip_order and envs.index(target) != following:
        after = envs[following] if following < len(envs) else None
        order = " → ".join(envs)
        raise CheckFailed(
            f"{target} does not follow {source} in the promotion order of qv.yaml ({order})",
            hint=(f"promote {source} to {after}" if after else f"{source} is the last") +
            ", or pass --skip-order",
        )  # fmt: skip


def promotable(refs: Refs) -> dict[str, Mapping[str, Any]]:
    """Every document but the Environment's: it describes the environment, never promoted."""
    return {ref: doc for ref, doc in refs.items() if not ref.startswith("environment/")}


def _snapshot(ws: Workspace, head: str, *envs: str) -> Snapshot:
    from qv_config.repo import load_snapshot

    return load_snapshot(ws.source(head), envs=list(envs))


def _settle(
    ws: Workspace, head: str, writer: Writer, src: Refs, before: Refs, skip: EnvSpecific
) -> str:
    """Render TARGET from the edited files until it equals SOURCE (env-specific fields and
    secrets aside); the digest of its desired state then. Refuses a result that does not
    validate, or that a few passes cannot make equal."""
    from qv_config.diff.sides import mark_lookup

    for _ in range(PASSES):
        snap, after, digest = render_after(ws, head, writer, before)
        chosen = {ref: doc for ref, doc in promotable(after).items() if ref in writer.scope}
        marks = mark_lookup(snap.read, ws.cache_root)
        residual = diff_documents(chosen, src, marks=marks, ignore=skip)
        if not writer.more(snap, residual, chosen, src):
            return digest
    first = residual.changes[0]
    raise CheckFailed(
        f"could not make {writer.target} equal {writer.source} at {first.ref} "
        f"(after {PASSES} rounds of edits); nothing was written",
        hint="promote that document by hand, or report it with the files involved",
    )


def render_after(
    ws: Workspace, head: str, writer: Writer, before: Refs
) -> tuple[Snapshot, dict[str, Mapping[str, Any]], str]:
    """TARGET rendered from the edited files: its snapshot, documents and desired-state digest.
    Validated through the memo, so only the edited documents render again."""
    import orjson

    from qv_config.progress import NO_PROGRESS
    from qv_config.promote.edited import EditedSource
    from qv_config.render.canonical import canonical_json
    from qv_config.render.desired import canonical, digest
    from qv_config.render.engine import render_each
    from qv_config.repo import load_snapshot
    from qv_config.validate.api import validate_checked

    target = writer.target
    source = EditedSource(ws.source(head), dict(writer.texts))  # type: ignore[arg-type]
    snap = load_snapshot(source, envs=[target])
    # Findings through the validation memo (a state validated before is not checked again);
    # the edited documents rendered here (the memo may hold no value of them).
    checked = validate_checked(snap, [target], (), True, NO_PROGRESS)
    _refuse_invalid(checked.result.findings, target)
    values: dict[str, bytes] = {}
    keep = values.__setitem__
    render_each(snap, target, lambda key, doc: keep(key.split("/", 1)[1], canonical(doc)),
                paths=writer.mains())  # fmt: skip
    gone = writer.removed_refs()
    state = {ref: canonical_json(doc) for ref, doc in before.items() if ref not in gone}
    state.update(values)
    after = {ref: (orjson.loads(v) if ref in values else before[ref]) for ref, v in state.items()}
    return snap, after, digest({f"{target}/{ref}": value for ref, value in state.items()})


def _refuse_invalid(findings: Sequence[Any], target: str) -> None:
    errors = sorted((f for f in findings if f.is_error), key=lambda f: f.sort_key())
    if not errors:
        return
    from qv_config.safetext import bounded

    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise CheckFailed(
        f"the result in {target} would not validate, nothing was written: {first.file}:"
        f"{first.line}:{first.col}: {first.code} {bounded(first.message)}{more}",
        hint=f"fix {target} (or the promoted documents) first; `qv validate --env {target}`",
    )


__all__ = ["EnvDiff", "check_order", "clean_head", "plan_promotion", "promotable"]
