"""Diff reporters chosen by name: ``text`` (rich markup), ``markdown`` and ``json``.

The text reporter returns rich markup so the CLI decides about colour (TTY, ``NO_COLOR``).
Markdown is made to be posted as a pull-request comment: a summary table, details folded.

Names, field paths and values come from the repository (and ``left``/``right`` from the command
line): each is escaped (``qv_config.safetext``) and then made inert for its format: rich-escaped
in text, an inline code span in markdown (no HTML, link, emphasis or @mention is read inside
one, and none can close it), HTML-escaped inside ``<summary>``, ``json_safe`` in JSON.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

import orjson

from qv_config.diff.model import DocChange, EnvDiff, FieldChange
from qv_config.diff.values import describe
from qv_config.errors import UsageError
from qv_config.safetext import MESSAGE, escape, json_safe, safe

MAX_FIELDS_TEXT = 40  # per document, before folding the rest into a count
REVIEW_MARKER = "<!-- qv-review -->"

_OP_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
_RISK_STYLE = {"loosened": "bold red", "tightened": "green"}


def get(name: str) -> Callable[[EnvDiff], str]:
    table: dict[str, Callable[[EnvDiff], str]] = {
        "text": text,
        "markdown": markdown,
        "json": as_json,
    }
    if name not in table:
        raise UsageError(f"unknown format {name!r}", hint=f"choose one of {', '.join(table)}")
    return table[name]


# ---------------------------------------------------------------- text


def markup_escape(text: str) -> str:
    """rich's own escape, imported when styled text is made (rich costs ~25 ms to import; a
    report on a pipe or with NO_COLOR is written plain without it)."""
    from rich.markup import escape

    return escape(text)


def _markup(text: str, styled: bool = True) -> str:
    """A name or path from the repository inside rich markup: escaped, clipped, no tag."""
    return markup_escape(safe(text)) if styled else safe(text)


def _value_markup(change: FieldChange, styled: bool = True) -> str:
    """``describe`` bounds each value already (``values.MAX_CHARS``)."""
    shown = escape(describe(change))
    return markup_escape(shown) if styled else shown


def _tag(style: str, body: str, styled: bool) -> str:
    return f"[{style}]{body}[/{style}]" if styled else body


def text(diff: EnvDiff, styled: bool = True) -> str:
    """Rich markup (``styled``), or the same text without it: for pipes and ``NO_COLOR``,
    written as it is (parsing markup only to drop it cost ~0.3 s for 3,000 documents)."""
    left, right = _markup(diff.left, styled), _markup(diff.right, styled)
    if diff.empty:
        return f"no differences between {left} and {right}"
    lines = [f"{_tag('bold', f'{left} → {right}', styled)}: {summary(diff)}"]
    for change in diff.changes:
        lines.extend(_text_doc(change, styled))
    return "\n".join(lines)


def text_plain(diff: EnvDiff) -> str:
    return text(diff, styled=False)


def summary(diff: EnvDiff) -> str:
    parts = [f"{diff.count(op)} {op}" for op in ("added", "removed", "changed")]
    if diff.loosened_count:
        parts.append(f"{diff.loosened_count} risk limit(s) loosened")
    return ", ".join(parts)


def _text_doc(change: DocChange, styled: bool = True) -> list[str]:
    op = _tag(_OP_STYLE[change.op], f"{change.op:>7}", styled)
    head = f"\n{op}  {_tag('bold', _markup(change.ref, styled), styled)}"
    if change.loosened:
        head += "  " + _tag("bold red", f"({len(change.loosened)} loosened)", styled)
    lines = [head]
    for field in change.fields[:MAX_FIELDS_TEXT]:
        lines.append(_text_field(field, styled))
    hidden = len(change.fields) - MAX_FIELDS_TEXT
    if hidden > 0:
        lines.append(f"           … and {hidden} more field changes (use --format json for all)")
    return lines


def _text_field(field: FieldChange, styled: bool = True) -> str:
    risk = ""
    if field.risk:
        risk = "  " + _tag(_RISK_STYLE[field.risk], field.risk.upper(), styled)
    return f"           {_markup(field.field, styled)}: {_value_markup(field, styled)}{risk}"


# ---------------------------------------------------------------- markdown


def _md_code(text: str, *, table: bool = False) -> str:
    """Escaped ``text`` as an inline code span: its fence is longer than any run of backticks
    inside, and in a table cell ``|`` is written ``\\|`` (GFM reads that as a pipe of the cell's
    text, even inside code, and never as the end of the cell)."""
    body = text.replace("|", "\\|") if table else text
    if not body:
        return "` `"
    fence = "`" * (max(map(len, re.findall("`+", body)), default=0) + 1)
    pad = " " if body[0] in "` " or body[-1] in "` " else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def markdown(diff: EnvDiff) -> str:
    lines = [f"### {_md_code(safe(diff.left))} → {_md_code(safe(diff.right))}", ""]
    lines += _md_table({diff.right: diff})
    lines += ["", *markdown_details(diff)]
    return "\n".join(lines) + "\n"


def _md_table(diffs: Mapping[str, EnvDiff]) -> list[str]:
    rows = ["| environment | added | removed | changed | loosened |", "|---|---:|---:|---:|---:|"]
    for env, diff in diffs.items():
        loosened = f"**{diff.loosened_count}** ⚠️" if diff.loosened_count else "0"
        rows.append(
            f"| {_md_code(safe(env), table=True)} | {diff.count('added')} "
            f"| {diff.count('removed')} "
            f"| {diff.count('changed')} | {loosened} |"
        )
    return rows


def markdown_details(diff: EnvDiff) -> list[str]:
    if diff.empty:
        return ["_No effective change._"]
    out: list[str] = []
    for change in diff.changes:
        out += _md_doc(change)
    return out


def _md_doc(change: DocChange) -> list[str]:
    flag = f" — **{len(change.loosened)} loosened** ⚠️" if change.loosened else ""
    out = [f"**{change.op}** {_md_code(safe(change.ref))}{flag}", ""]
    if change.fields:
        out += ["| field | change | risk |", "|---|---|---|"]
        for field in change.fields:
            risk = f"**{field.risk}**" if field.risk == "loosened" else field.risk or ""
            path = _md_code(safe(field.field), table=True)
            value = _md_code(safe(describe(field), MESSAGE), table=True)
            out.append(f"| {path} | {value} | {risk} |")
        out.append("")
    return out


def review_markdown(
    diffs: Mapping[str, EnvDiff], base: str, head: str, graphs: Mapping[str, str] | None = None
) -> str:
    """One pull-request comment for every environment (``qv review --format markdown``);
    ``graphs``: Mermaid text per environment (``--graph``), escaped by ``qv_config.graph``."""
    total_loosened = sum(d.loosened_count for d in diffs.values())
    span = f"{_md_code(safe(base))} → {_md_code(safe(head))}"
    lines = [REVIEW_MARKER, f"## qv review: effective change {span}", ""]
    if total_loosened:
        lines += [f"> [!WARNING]\n> {total_loosened} risk limit(s) loosened.", ""]
    lines += [*_md_table(diffs), ""]
    for env, diff in diffs.items():
        open_attr = " open" if diff.loosened_count else ""
        # Raw HTML: the name is HTML-escaped, and in <code> GitHub reads no @mention.
        name = f"<b><code>{html.escape(safe(env))}</code></b>"
        lines += [f"<details{open_attr}>", f"<summary>{name}: {summary(diff)}</summary>", ""]
        lines += [*markdown_details(diff), "", *_graph_block((graphs or {}).get(env))]
        lines += ["</details>", ""]
    return "\n".join(lines)


def _graph_block(mermaid: str | None) -> list[str]:
    if not mermaid:
        return []
    note = "Inheritance of the changed documents (files this change touched: red border):"
    return [note, "", "```mermaid", mermaid.rstrip("\n"), "```", ""]


# ---------------------------------------------------------------- json


def to_data(diff: EnvDiff) -> dict[str, object]:
    return {
        "left": diff.left,
        "right": diff.right,
        "summary": {op: diff.count(op) for op in ("added", "removed", "changed")}
        | {"loosened": diff.loosened_count},
        "changes": [
            {
                "ref": c.ref,
                "kind": c.kind,
                "name": c.name,
                "op": c.op,
                "fields": [
                    {
                        "path": f.field,
                        "op": f.op,
                        "old": _hidden(f, f.old),
                        "new": _hidden(f, f.new),
                        "risk": f.risk,
                        "secret": f.secret,
                        "note": f.note or None,
                    }
                    for f in c.fields
                ],
            }
            for c in diff.changes
        ],
    }


def _hidden(field: FieldChange, value: object) -> object:
    """A secret's value reads "(secret)" unless --decrypt revealed it."""
    return "(secret)" if field.secret and not field.revealed and value is not None else value


def as_json(diff: EnvDiff) -> str:
    return json_dumps(to_data(diff))


def json_dumps(data: object) -> str:
    """Indented JSON of a diff, a review or a log: ``json_safe``, like every JSON qv prints."""
    return json_safe(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def plain(markup: str) -> str:
    """The text of rich markup without styles: for pipes and NO_COLOR, without paying for a
    rich Console (most of the cost of printing a large diff). Emoji codes in values
    (``:warning:``) stay text, as on a terminal (``cli.output.console``)."""
    from rich.markup import render

    return render(markup, emoji=False).plain
