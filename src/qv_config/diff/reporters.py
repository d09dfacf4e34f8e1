"""Diff reporters chosen by name: ``text`` (rich markup), ``markdown`` and ``json``.

The text reporter returns rich markup so the CLI decides about colour (TTY, ``NO_COLOR``).
Markdown is made to be posted as a pull-request comment: a summary table, details folded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson
from rich.markup import escape

from qv_config.diff.model import DocChange, EnvDiff, FieldChange
from qv_config.diff.values import describe
from qv_config.errors import UsageError

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


def text(diff: EnvDiff) -> str:
    if diff.empty:
        return f"no differences between {escape(diff.left)} and {escape(diff.right)}"
    lines = [f"[bold]{escape(diff.left)} → {escape(diff.right)}[/bold]: {summary(diff)}"]
    for change in diff.changes:
        lines.extend(_text_doc(change))
    return "\n".join(lines)


def summary(diff: EnvDiff) -> str:
    parts = [f"{diff.count(op)} {op}" for op in ("added", "removed", "changed")]
    if diff.loosened_count:
        parts.append(f"{diff.loosened_count} risk limit(s) loosened")
    return ", ".join(parts)


def _text_doc(change: DocChange) -> list[str]:
    style = _OP_STYLE[change.op]
    head = f"\n[{style}]{change.op:>7}[/{style}]  [bold]{escape(change.ref)}[/bold]"
    if change.loosened:
        head += f"  [bold red]({len(change.loosened)} loosened)[/bold red]"
    lines = [head]
    for field in change.fields[:MAX_FIELDS_TEXT]:
        lines.append(_text_field(field))
    hidden = len(change.fields) - MAX_FIELDS_TEXT
    if hidden > 0:
        lines.append(f"           … and {hidden} more field changes (use --format json for all)")
    return lines


def _text_field(field: FieldChange) -> str:
    risk = ""
    if field.risk:
        style = _RISK_STYLE[field.risk]
        risk = f"  [{style}]{field.risk.upper()}[/{style}]"
    return f"           {escape(field.field)}: {escape(describe(field))}{risk}"


# ---------------------------------------------------------------- markdown


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(diff: EnvDiff) -> str:
    lines = [f"### `{diff.left}` → `{diff.right}`", ""]
    lines += _md_table({diff.right: diff})
    lines += ["", *markdown_details(diff)]
    return "\n".join(lines) + "\n"


def _md_table(diffs: Mapping[str, EnvDiff]) -> list[str]:
    rows = ["| environment | added | removed | changed | loosened |", "|---|---:|---:|---:|---:|"]
    for env, diff in diffs.items():
        loosened = f"**{diff.loosened_count}** ⚠️" if diff.loosened_count else "0"
        rows.append(
            f"| {_md_cell(env)} | {diff.count('added')} | {diff.count('removed')} "
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
    out = [f"**{change.op}** `{change.ref}`{flag}", ""]
    if change.fields:
        out += ["| field | change | risk |", "|---|---|---|"]
        for field in change.fields:
            risk = f"**{field.risk}**" if field.risk == "loosened" else field.risk or ""
            out.append(f"| `{_md_cell(field.field)}` | {_md_cell(describe(field))} | {risk} |")
        out.append("")
    return out


def review_markdown(diffs: Mapping[str, EnvDiff], base: str, head: str) -> str:
    """One pull-request comment for every environment (``qv review --format markdown``)."""
    total_loosened = sum(d.loosened_count for d in diffs.values())
    lines = [REVIEW_MARKER, f"## qv review: effective change `{base}` → `{head}`", ""]
    if total_loosened:
        lines += [f"> [!WARNING]\n> {total_loosened} risk limit(s) loosened.", ""]
    lines += [*_md_table(diffs), ""]
    for env, diff in diffs.items():
        open_attr = " open" if diff.loosened_count else ""
        lines += [f"<details{open_attr}>", f"<summary><b>{env}</b>: {summary(diff)}</summary>", ""]
        lines += [*markdown_details(diff), "", "</details>", ""]
    return "\n".join(lines)


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
    return orjson.dumps(to_data(diff), option=orjson.OPT_INDENT_2).decode()


def plain(markup: str) -> str:
    """The text of rich markup without styles: for pipes and NO_COLOR, without paying for a
    rich Console (most of the cost of printing a large diff)."""
    from rich.markup import render

    return render(markup).plain
