"""Provenance: which layer set the value at a field path (SPEC §3, ``--explain``).

Computed lazily, from the layers and the merged result, only when a finding needs a position or
a user asks ``--explain``: the hot path of rendering records nothing. A field path is in result
coordinates; list indexes of name-keyed lists are translated to each layer by item ``name``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qv_config.render.merge import is_name_keyed
from qv_config.render.types import Layer, Location
from qv_config.yamlio import Mark, ReplaceDict, ReplaceList
from qv_config.yamlio.types import FieldPath

Action = Literal["set", "deleted", "replaced"]
_MISSING = object()


@dataclass(frozen=True)
class Hit:
    """What one layer did to a field: set it, deleted it (null), or replaced a parent without it."""

    layer: Layer
    action: Action
    path: FieldPath  # where, in the layer's own file
    value: Any

    @property
    def mark(self) -> Mark | None:
        return self.layer.doc.position(self.path)


def trace(layers: Sequence[Layer], merged: Any, path: FieldPath) -> list[Hit]:
    """Every layer that touched ``path``, in application order."""
    hits = []
    for layer in layers:
        hit = _effect(layer, merged, path)
        if hit is not None:
            hits.append(hit)
    return hits


def winner(hits: Sequence[Hit]) -> Hit | None:
    """The hit whose value is in the result: the last one, when it set a value."""
    return hits[-1] if hits and hits[-1].action == "set" else None


def _effect(layer: Layer, merged: Any, path: FieldPath) -> Hit | None:
    cur: Any = layer.doc.data
    node: Any = merged
    where: list[str | int] = []
    whole: tuple[FieldPath, Any] | None = None  # ancestor this layer replaces whole
    for step in path:
        if isinstance(cur, ReplaceDict | ReplaceList) or (
            type(cur) is list and whole is None and not _by_name(cur, node)
        ):
            whole = whole or (tuple(where), cur)
        nxt, key = _step(cur, node, step)
        if nxt is _MISSING:
            if whole is not None or not isinstance(cur, dict | list):
                return Hit(layer, "replaced", tuple(where), cur)
            return None
        node = _child(node, step)
        cur = nxt
        where.append(key)
        if cur is None:
            return Hit(layer, "deleted", tuple(where), None)
    return Hit(layer, "set", tuple(where), cur)


def _by_name(items: list[Any], merged: Any) -> bool:
    return is_name_keyed(items) and is_name_keyed(merged)


def _step(cur: Any, node: Any, step: str | int) -> tuple[Any, str | int]:
    """The layer's child for one result step, and its key in the layer."""
    if isinstance(step, str):
        if isinstance(cur, dict) and step in cur:
            return cur[step], step
        return _MISSING, step
    if not isinstance(cur, list):
        return _MISSING, step
    if _by_name(cur, node) and type(cur) is list and 0 <= step < len(node):
        wanted = node[step]["name"]
        for pos, item in enumerate(cur):
            if item["name"] == wanted:
                return item, pos
        return _MISSING, step
    return (cur[step], step) if 0 <= step < len(cur) else (_MISSING, step)


def _child(node: Any, step: str | int) -> Any:
    if isinstance(step, str):
        return node.get(step, _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list) and 0 <= step < len(node):
        return node[step]
    return _MISSING


def locate(layers: Sequence[Layer], merged: Any, path: FieldPath) -> Location:
    """File and mark of the layer that set ``path`` last (or the nearest parent that has one)."""
    probe = path
    while True:
        won = winner(trace(layers, merged, probe))
        if won is not None:
            return Location(won.layer.doc.path, won.mark)
        if not probe:
            break
        probe = probe[:-1]
    main = next((lay for lay in layers if lay.role in ("base", "document")), layers[-1])
    return Location(main.doc.path, main.doc.position(path))
