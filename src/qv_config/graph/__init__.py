"""Pictures of inheritance: which templates, bases and overlays make an environment's
documents, and the fields each layer sets (``qv graph``, ``qv review --graph``).

Public API: ``build_graph(env, docs, changed=) -> Graph`` (from rendered documents, the fields
from ``render.provenance``), ``environment_graph(snapshot, env, selectors)``,
``review.review_graphs(root, base, diffs)``, ``to_mermaid(graph)``, ``to_dot(graph)``,
``to_svg(dot_text)`` (the ``dot`` binary of Graphviz). Every label from a file passes
``safetext`` and the escaping of its diagram language: no name can end a label or add to the
diagram.
"""

from __future__ import annotations

from qv_config.graph.build import build_graph, environment_graph
from qv_config.graph.dot import to_dot
from qv_config.graph.mermaid import to_mermaid
from qv_config.graph.model import Edge, Graph, Node
from qv_config.graph.svg import to_svg

__all__ = [
    "Edge",
    "Graph",
    "Node",
    "build_graph",
    "environment_graph",
    "to_dot",
    "to_mermaid",
    "to_svg",
]
