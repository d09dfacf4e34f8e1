"""Desired state and its digest (SPEC §3, docs/format.md), reused by sync, drift and approvals.

Canonical JSON: UTF-8, sorted keys, no insignificant whitespace (``render.canonical``, the
encoder rendering already checked every document with: a document it could not write was left
out with finding QV408). The rendered data has no ``extends``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from qv_config.errors import CheckFailed
from qv_config.findings import Finding
from qv_config.render.canonical import NotDeployable, canonical_json
from qv_config.render.types import RenderedDoc, RenderedEnv

UNDEPLOYABLE = "QV408"


def desired_state(rendered: RenderedEnv) -> dict[str, bytes]:
    """Desired-state key ``{env}/{kind-slug}/{name}`` -> canonical JSON of the document.

    A document that rendering left out because it cannot be written (QV408) makes the whole
    state undeployable: leaving it out would delete it from the store.
    """
    refuse_undeployable(rendered.findings)
    return {key: canonical(doc) for key, doc in rendered.docs.items()}


def refuse_undeployable(findings: Iterable[Finding]) -> None:
    """Raise when rendering left a document out because it cannot be written (QV408)."""
    refused = [f for f in findings if f.code == UNDEPLOYABLE]
    if refused:
        raise _refusal(refused[0], len(refused))


def canonical(doc: RenderedDoc, indent: bool = False) -> bytes:
    """The canonical JSON of one rendered document (``indent``: indented by 2, for people)."""
    try:
        data = canonical_json(doc.data)
    except NotDeployable as err:  # data changed after rendering checked it
        raise _refusal(_located(doc, err), 1) from None
    if not indent:
        return data
    import orjson

    return orjson.dumps(doc.data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def _located(doc: RenderedDoc, err: NotDeployable) -> Finding:
    where = doc.locate(err.path)
    line, col = (where.mark.line, where.mark.col) if where.mark else (0, 0)
    return Finding(UNDEPLOYABLE, err.message, where.file, line, col, env=doc.env)


def _refusal(first: Finding, count: int) -> CheckFailed:
    more = f" (and {count - 1} more)" if count > 1 else ""
    return CheckFailed(
        f"{first.file}:{first.line}:{first.col}: {first.code} {first.message}{more}; "
        f"the desired state of {first.env} cannot be written as canonical JSON",
        hint=f"run `qv validate --env {first.env}` and fix the value",
    )


def digest(desired: Mapping[str, bytes]) -> str:
    """sha256 over the sorted ``key<TAB>sha256hex(value)<LF>`` lines (docs/format.md)."""
    lines = "".join(
        f"{key}\t{hashlib.sha256(desired[key]).hexdigest()}\n" for key in sorted(desired)
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
