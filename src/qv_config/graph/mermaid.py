"""Mermaid flowchart text of a ``Graph``, for pull-request comments (GitHub draws it).

Node ids are ``n0``, ``n1``, ... (never text from a file); every label is a quoted string whose
characters other than letters, digits and a few harmless marks are Mermaid entity codes
(``#34;``), so no name can close the label, start a statement or inject markup."""

from __future__ import annotations

import re

from qv_config.graph.labels import lines
from qv_config.graph.model import Graph

_PLAIN = re.compile(r"[A-Za-z0-9 _./,:=+()\-]")
# Fill and stroke per role; a changed file gets a thick red border.
_STYLES = {
    "template": "fill:#eef2ff,stroke:#6366f1",
    "base": "fill:#ecfdf5,stroke:#059669",
    "document": "fill:#ecfdf5,stroke:#059669",
    "overlay": "fill:#fffbeb,stroke:#d97706",
    "effective": "fill:#f8fafc,stroke:#334155",
    "changed": "stroke:#dc2626,stroke-width:3px",
}


def escape_mermaid(text: str) -> str:
    """Every character that could mean something to Mermaid or HTML as an entity code."""
    return "".join(ch if _PLAIN.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def to_mermaid(graph: Graph) -> str:
    ids = {node.key: f"n{i}" for i, node in enumerate(graph.nodes)}
    out = ["flowchart LR"]
    for node in graph.nodes:
        label = "<br/>".join(escape_mermaid(line) for line in lines(node))
        out.append(f'  {ids[node.key]}["{label}"]')
    for edge in graph.edges:
        arrow = f"-->|{escape_mermaid(edge.label)}|" if edge.label else "-->"
        out.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
    out += _classes(graph, ids)
    return "\n".join(out) + "\n"


def _classes(graph: Graph, ids: dict[str, str]) -> list[str]:
    out: list[str] = []
    for role, style in _STYLES.items():
        members = [
            ids[n.key] for n in graph.nodes if (n.changed if role == "changed" else n.role == role)
        ]
        if members:
            out += [f"  classDef {role} {style}", f"  class {','.join(members)} {role}"]
    return out
