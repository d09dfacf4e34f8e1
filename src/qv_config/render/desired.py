"""Desired state and its digest (SPEC §3, docs/format.md), reused by sync, drift and approvals.

Canonical JSON: UTF-8, sorted keys, no insignificant whitespace (``render.canonical``, the
encoder rendering already checked every document with: a document it could not write was left
out with finding QV408). The rendered data has no ``extends``.

A desired state is whole or refused: every error finding of rendering (and every file of the
environment that failed to load) means a document is missing from it, and a state without it
would delete it from the store (``sync``, ``rollback``) or show it deleted (``drift``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from qv_config.errors import StateRefused
from qv_config.findings import Finding
from qv_config.render.canonical import NotDeployable, canonical_json
from qv_config.render.types import RenderedDoc, RenderedEnv

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot

UNDEPLOYABLE = "QV408"
_PLACES = 3  # findings a refusal names


def desired_state(rendered: RenderedEnv, problems: Sequence[Finding] = ()) -> dict[str, bytes]:
    """Desired-state key ``{env}/{kind-slug}/{name}`` -> canonical JSON of the document.

    Refused (``StateRefused``) when rendering reported an error, or ``problems`` holds one (the
    load errors of the environment's files, ``load_problems``): a document is missing.
    """
    refuse_errors([*problems, *rendered.findings], rendered.env)
    return {key: canonical(doc) for key, doc in rendered.docs.items()}


def refuse_errors(findings: Iterable[Finding], env: str) -> None:
    """Raise ``StateRefused`` when a finding is an error: rendering (or loading) left a
    document out, and a state without it would delete it from the store."""
    errors = [f for f in findings if f.is_error]
    if errors:
        raise _refusal(errors, env)


def canonical(doc: RenderedDoc, indent: bool = False) -> bytes:
    """The canonical JSON of one rendered document (``indent``: indented by 2, for people)."""
    if doc.json is not None and not indent:
        return doc.json  # made by rendering, from this very value
    try:
        data = canonical_json(doc.data)
    except NotDeployable as err:  # data changed after rendering checked it
        raise _refusal([_located(doc, err)], doc.env) from None
    if not indent:
        return data
    import orjson

    return orjson.dumps(doc.data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def load_problems(snapshot: Snapshot, env: str) -> list[Finding]:
    """Load errors of the files ``env`` reads (other environments' files excluded): each one is
    a document or a layer of one missing from the snapshot."""
    mine = f"environments/{env}/"
    return [
        f
        for f in snapshot.findings
        if f.is_error
        and (not f.file.startswith("environments/") or f.file.startswith(mine))
        and f.env in (None, env)
    ]


def places(findings: Iterable[Finding]) -> str:
    """``file:line:col: CODE at field — summary`` of the first few findings, and how many more:
    where the problems are and what their code means (the registry's summary), never what a
    finding says (its message may quote a document's value)."""
    found = sorted(findings, key=Finding.sort_key)
    shown = "; ".join(_place(f) for f in found[:_PLACES])
    more = len(found) - _PLACES
    return shown + (f" (and {more} more)" if more > 0 else "")


def _place(finding: Finding) -> str:
    from qv_config.validate.registry import describe

    where = finding.file + (f":{finding.line}:{finding.col}" if finding.line else "")
    info = describe(finding.code)
    return (
        f"{where}: {finding.code}"
        + (f" at {finding.field}" if finding.field else "")
        + (f" — {info.summary}" if info else "")
    )


def _located(doc: RenderedDoc, err: NotDeployable) -> Finding:
    where = doc.locate(err.path)
    line, col = (where.mark.line, where.mark.col) if where.mark else (0, 0)
    return Finding(UNDEPLOYABLE, err.message, where.file, line, col, env=doc.env)


def _refusal(errors: Sequence[Finding], env: str) -> StateRefused:
    if all(f.code == UNDEPLOYABLE for f in errors):
        what = "cannot be written as canonical JSON"
    else:
        what = (
            "leaves out the documents these name (a state without them would delete them "
            "from the store)"
        )
    message = f"{places(errors)}; the desired state of {env} {what}"
    return StateRefused(
        message,
        located=message,
        hint=f"run `qv validate --env {env}` on that revision and fix the problems",
    )


def digest(desired: Mapping[str, bytes]) -> str:
    """sha256 over the sorted ``key<TAB>sha256hex(value)<LF>`` lines (docs/format.md)."""
    lines = "".join(
        f"{key}\t{hashlib.sha256(desired[key]).hexdigest()}\n" for key in sorted(desired)
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
