"""``build_graph``: the inheritance graph of rendered documents, with the fields each layer
sets found by ``render.provenance`` (the layer whose value is in the result wins)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qv_config.findings import Finding
from qv_config.graph.model import Edge, Graph, Node, NodeRole
from qv_config.render.merge import is_name_keyed
from qv_config.render.provenance import trace, winner
from qv_config.render.types import Layer, RenderedDoc
from qv_config.repo.types import Snapshot
from qv_config.yamlio.types import FieldPath


@dataclass
class _Layer:
    role: NodeRole
    title: str
    file: str
    won: dict[str, bool] = field(default_factory=dict)  # field -> its value won somewhere


def build_graph(env: str, docs: Iterable[RenderedDoc], *, changed: Collection[str] = ()) -> Graph:
    """The graph of ``docs`` (one environment's); ``changed``: repo paths to mark as changed."""
    layers: dict[str, _Layer] = {}
    effective: list[Node] = []
    edges: dict[tuple[str, str], Edge] = {}
    for doc in docs:
        for layer in doc.layers:
            layers.setdefault(layer.doc.path, _Layer(layer.role, layer.label, layer.doc.path))
        _record_fields(doc, layers)
        for edge in _edges(doc):
            edges.setdefault((edge.source, edge.target), edge)
        effective.append(Node(_doc_key(doc), "effective", doc.key, ""))
    nodes = [_node(key, acc, changed) for key, acc in layers.items()]
    return Graph(env, (*nodes, *effective), tuple(edges.values()))


def environment_graph(
    snapshot: Snapshot, env: str, selectors: Sequence[str] = (), *, changed: Collection[str] = ()
) -> tuple[Graph, tuple[Finding, ...]]:
    """The graph of ``env``'s documents matching ``selectors``, and the findings of rendering
    them (a document that does not render is not in the graph)."""
    from qv_config.render.engine import render_environment

    rendered = render_environment(snapshot, env, selectors)
    return build_graph(env, rendered.docs.values(), changed=changed), rendered.findings


def _doc_key(doc: RenderedDoc) -> str:
    return f"effective:{doc.key}"


def _node(key: str, acc: _Layer, changed: Collection[str]) -> Node:
    sets = tuple(name for name, won in acc.won.items() if won)
    lost = tuple(name for name, won in acc.won.items() if not won)
    return Node(key, acc.role, acc.title, acc.file, sets, lost, acc.file in changed)


# Identity, not settings: every main file sets them, and a picture listing them says nothing.
_IDENTITY = frozenset({("apiVersion",), ("kind",), ("metadata", "name")})


def _record_fields(doc: RenderedDoc, layers: Mapping[str, _Layer]) -> None:
    """Per layer, every field it set in ``doc`` and whether its value is the one kept."""
    for path in leaves(doc.data):
        if path in _IDENTITY:
            continue
        hits = trace(doc.layers, doc.data, path)
        won = winner(hits)
        for hit in hits:
            if hit.action == "set":
                fields = layers[hit.layer.doc.path].won
                name = named(hit.layer.doc.data, hit.path)
                fields[name] = fields.get(name, False) or hit is won


def named(data: Any, path: FieldPath) -> str:
    """``spec.strategies[default].name``: a field path, the items of a name-keyed list by name."""
    node: Any = data
    parts: list[str] = []
    for step in path:
        child = _child(node, step)
        if isinstance(step, str):
            parts.append(f".{step}" if parts else step)
        elif isinstance(child, Mapping) and isinstance(child.get("name"), str):
            parts.append(f"[{child['name']}]")
        else:
            parts.append(f"[{step}]")
        node = child
    return "".join(parts)


def _child(node: Any, step: str | int) -> Any:
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and 0 <= step < len(node) else None
    return node.get(step) if isinstance(node, Mapping) else None


def leaves(data: Any, path: FieldPath = ()) -> Iterator[FieldPath]:
    """Paths of the values a layer can set: scalars, lists merged whole, empty mappings; the
    items of a name-keyed list one by one (layers merge them by name)."""
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif is_name_keyed(data):
        for index, item in enumerate(data):
            yield from leaves(item, (*path, index))
    elif path:
        yield path


def _edges(doc: RenderedDoc) -> Iterator[Edge]:
    by_name = {layer.label: layer.doc.path for layer in doc.layers if layer.role == "template"}
    for layer in doc.layers:
        for parent in _extends(layer):
            if parent in by_name:
                yield Edge(by_name[parent], layer.doc.path)
        if layer.role in ("base", "document"):
            yield Edge(layer.doc.path, _doc_key(doc))
        elif layer.role == "overlay":
            yield Edge(layer.doc.path, _doc_key(doc), "overlay")


def _extends(layer: Layer) -> list[str]:
    data = layer.doc.data
    names = data.get("extends") if isinstance(data, Mapping) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
