"""The inheritance graph of an environment's documents: layers, documents and their edges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NodeRole = Literal["template", "base", "document", "overlay", "effective"]


@dataclass(frozen=True)
class Node:
    """One file that is a layer (``role`` as in ``render.types.Layer``), or one effective
    document (``effective``). ``key`` identifies it in the graph and is never printed as an id."""

    key: str
    role: NodeRole
    title: str  # template name, repo path, or the document's desired-state key
    file: str  # repo path ("" for an effective document)
    sets: tuple[str, ...] = ()  # fields this layer sets whose value is in some document's result
    overridden: tuple[str, ...] = ()  # fields it sets that a later layer always replaced
    changed: bool = False  # the file changed (qv review --graph)


@dataclass(frozen=True)
class Edge:
    """``source`` is applied before ``target`` builds on it: a template to what extends it, a
    base or document file and an overlay to the effective document."""

    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Graph:
    env: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def empty(self) -> bool:
        return not self.nodes
