"""The text of a node, the same in every diagram language: role and name, file, the fields the
layer sets (bounded), each line made safe (``safetext``) before the language escapes it."""

from __future__ import annotations

from qv_config.graph.model import Node
from qv_config.safetext import NAME, safe

LINE = 120  # characters of the fields named on one line of a label; the rest are counted


def lines(node: Node) -> list[str]:
    """The lines of ``node``'s label, safe to print (escaping for the diagram comes after)."""
    head = node.title if node.role == "effective" else f"{node.role} {node.title}"
    out = [safe(head, NAME)]
    if node.file and node.file != node.title:
        out.append(safe(node.file, NAME))
    if node.sets:
        out.append(_fields("sets", node.sets))
    if node.overridden:
        out.append(_fields("overridden", node.overridden))
    return out


def _fields(word: str, names: tuple[str, ...]) -> str:
    """``sets: a, b, c (+4 more)``: whole names while they fit in ``LINE``, at least one."""
    shown: list[str] = []
    width = 0
    for name in names:
        text = safe(name, LINE)
        if shown and width + len(text) + 2 > LINE:
            break
        shown.append(text)
        width += len(text) + 2
    more = len(names) - len(shown)
    return f"{word}: {', '.join(shown)}" + (f" (+{more} more)" if more else "")
