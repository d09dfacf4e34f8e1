"""Graphviz DOT text of a ``Graph``. Node ids are ``n0``, ``n1``, ...; every label is a quoted
string with ``\\`` and ``"`` escaped, so a label never ends early nor holds an escape Graphviz
would read (``\\N``, ``\\G``); lines end with ``\\l`` (left-justified)."""

from __future__ import annotations

from qv_config.graph.labels import lines
from qv_config.graph.model import Graph

_FILL = {
    "template": "#eef2ff",
    "base": "#ecfdf5",
    "document": "#ecfdf5",
    "overlay": "#fffbeb",
    "effective": "#f8fafc",
}


def escape_dot(text: str) -> str:
    """``text`` inside a DOT quoted string, read by Graphviz as exactly these characters."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph: Graph) -> str:
    ids = {node.key: f"n{i}" for i, node in enumerate(graph.nodes)}
    out = [
        "digraph qv {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        label = "".join(escape_dot(line) + "\\l" for line in lines(node))
        border = ', color="#dc2626", penwidth=3' if node.changed else ""
        out.append(f'  {ids[node.key]} [label="{label}", fillcolor="{_FILL[node.role]}"{border}];')
    for edge in graph.edges:
        label = f' [label="{escape_dot(edge.label)}"]' if edge.label else ""
        out.append(f"  {ids[edge.source]} -> {ids[edge.target]}{label};")
    out.append("}")
    return "\n".join(out) + "\n"
