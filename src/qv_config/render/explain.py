"""``explain``: every layer that set one field of one document, and which one won (SPEC §3)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from qv_config.errors import CheckFailed, UsageError
from qv_config.findings import dotted
from qv_config.render.engine import render_environment
from qv_config.render.provenance import Action, trace, winner
from qv_config.render.selectors import parse_selector
from qv_config.render.types import LayerRole, RenderedDoc
from qv_config.repo.types import Snapshot
from qv_config.yamlio import Mark
from qv_config.yamlio.types import FieldPath

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ABSENT = object()


@dataclass(frozen=True)
class ExplainStep:
    role: LayerRole
    label: str  # template name or repo path
    file: str
    mark: Mark | None
    action: Action  # set | deleted | replaced (a parent was replaced without this field)
    value: Any  # the value this layer set (None when deleted/replaced)
    won: bool


@dataclass(frozen=True)
class Explanation:
    env: str
    key: str  # desired-state key of the document
    field: str  # dotted field path in result coordinates
    steps: tuple[ExplainStep, ...]
    present: bool  # the field exists in the rendered document
    final: Any  # the rendered (templated) value, None when absent


def explain(snapshot: Snapshot, env: str, selector: str, field: str) -> Explanation:
    doc = _one_doc(snapshot, env, selector)
    path = parse_field(doc.data, field)
    hits = trace(doc.layers, doc.data, path)
    final = _value_at(doc.data, path)
    if not hits and final is _ABSENT:
        raise UsageError(f"{doc.key} has no field {field!r}", hint=_field_hint(doc.data, path))
    won = winner(hits)
    steps = tuple(
        ExplainStep(
            hit.layer.role,
            hit.layer.label,
            hit.layer.doc.path,
            hit.mark,
            hit.action,
            hit.value if hit.action == "set" else None,
            hit is won,
        )
        for hit in hits
    )
    present = final is not _ABSENT
    return Explanation(env, doc.key, dotted(path), steps, present, final if present else None)


def _one_doc(snapshot: Snapshot, env: str, selector: str) -> RenderedDoc:
    sel = parse_selector(selector)
    rendered = render_environment(snapshot, env, [selector])
    docs = [d for d in rendered.docs.values() if sel.matches(d.kind, d.name)]
    if not docs and rendered.findings:
        first = rendered.findings[0]
        raise CheckFailed(
            f"{selector} does not render: {first.file}:{first.line}:{first.col}: "
            f"{first.code} {first.message}",
            hint="fix it, then explain again",
        )
    if len(docs) != 1:
        names = ", ".join(d.key for d in docs[:5])
        raise UsageError(
            f"--explain needs exactly one document; {selector!r} matches {len(docs)} ({names})",
            hint="name one document as kind/name",
        )
    return docs[0]


def parse_field(data: Any, field: str) -> FieldPath:
    """``spec.stages[1].capital`` or ``spec.stages.canary.capital`` (by item name) -> path."""
    if not field or _TOKEN.sub("", field).strip(".") != "":
        raise UsageError(
            f"field {field!r} is not a dotted path", hint="e.g. spec.limits.order_rate"
        )
    path: list[str | int] = []
    node: Any = data
    for match in _TOKEN.finditer(field):
        word, index = match.groups()
        step: str | int = int(index) if index is not None else word
        if isinstance(node, list) and isinstance(step, str):
            step = _list_step(node, step)
        path.append(step)
        node = _child(node, step)
    return tuple(path)


def _list_step(items: list[Any], word: str) -> str | int:
    if word.isdigit():
        return int(word)
    for pos, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == word:
            return pos
    return word


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step, _ABSENT)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return _ABSENT


def _value_at(data: Any, path: FieldPath) -> Any:
    node = data
    for step in path:
        node = _child(node, step)
        if node is _ABSENT:
            break
    return node


def _field_hint(data: Any, path: FieldPath) -> str:
    node, done = data, 0
    for step in path:
        nxt = _child(node, step)
        if nxt is _ABSENT:
            break
        node, done = nxt, done + 1
    if isinstance(node, dict):
        names = [str(k) for k in node]
    elif isinstance(node, list):
        names = [
            str(i.get("name", n)) if isinstance(i, dict) else str(n) for n, i in enumerate(node)
        ]
    else:
        names = []
    wanted = str(path[done]) if done < len(path) else ""
    close = difflib.get_close_matches(wanted, names, n=3)
    where = dotted(path[:done]) or "the document"
    if close:
        return f"did you mean {', '.join(close)}? ({where} has: {', '.join(names[:12])})"
    return f"{where} has: {', '.join(names[:12]) or 'no fields'}"
