"""Schema check of one built-in document: pydantic-core validation, then clear issues.

The happy path is one validation of plain data (Rust, ``models.plain``: no model instance is
built). Only on failure does ``model_validate`` run, and are pydantic's errors turned into
``SchemaIssue``: one per real problem, located at a field path of the *document* (union
branch and validator segments of pydantic's ``loc`` are dropped), with a short message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from qv_config.models.common import NAME_PATTERN, ORDER_RATE_PATTERN, SHA256_PATTERN, number
from qv_config.models.kinds import ALL_KINDS
from qv_config.models.marks import resolve
from qv_config.models.plain import accepts
from qv_config.models.schema import kind_schema

FieldPath = tuple[str | int, ...]
IssueCode = Literal["QV301", "QV302", "QV303"]


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema problem of a document: QV301 unknown field, QV302 missing, QV303 wrong value."""

    code: IssueCode
    path: FieldPath  # for QV301, the path of the unknown key itself
    message: str


_PATTERNS = {
    NAME_PATTERN: "is not a valid name: use lowercase letters, digits, '.' and '-', starting with"
    " a letter or digit, at most 63 characters",
    ORDER_RATE_PATTERN: "is not an order rate like '20/1s' (<count>/<n><unit>, unit ms|s|m|h)",
    SHA256_PATTERN: "is not a sha256 digest (64 lowercase hex digits)",
}
_TYPES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "none_required": "null",
}
_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def check(kind: str, data: Mapping[str, Any]) -> list[SchemaIssue]:
    """Schema issues of one document of a built-in ``kind`` (empty list: valid).

    ``kind`` must be a key of ``KINDS`` or ``"Project"`` (unknown kinds are QV202, found by the
    structure stage before this one); a ``KeyError`` otherwise.
    """
    model = ALL_KINDS[kind]
    if not isinstance(data, dict):
        if not isinstance(data, Mapping):
            return [SchemaIssue("QV303", (), f"a document must be a mapping, got {_show(data)}")]
        data = dict(data)  # strict models take dicts, not other Mapping types
    if accepts(kind, data):
        return []
    try:
        model.model_validate(data)
    except ValidationError as err:
        return issues(kind, data, err.errors(include_url=False))
    return []


def issues(kind: str, data: Any, errors: Iterable[ErrorDetails]) -> list[SchemaIssue]:
    """Turn pydantic errors of ``data`` into one issue per (code, document path)."""
    groups: dict[tuple[IssueCode, FieldPath], list[ErrorDetails]] = {}
    for error in errors:
        code = _code(error["type"])
        path = document_path(data, error["loc"], keep_last=code != "QV303")
        groups.setdefault((code, path), []).append(error)
    found = [_issue(kind, code, path, group) for (code, path), group in groups.items()]
    return _without_misspelt(found)


def _without_misspelt(found: list[SchemaIssue]) -> list[SchemaIssue]:
    """A required field reported missing beside an unknown key that is its misspelling says
    the same thing twice, the second time at the wrong line: only the unknown key is kept (its
    own line, "did you mean ...?")."""
    strays = {(i.path[:-1], str(i.path[-1])) for i in found if i.code == "QV301" and i.path}

    def misspelt(issue: SchemaIssue) -> bool:
        if issue.code != "QV302" or not issue.path:
            return False
        parent, name = issue.path[:-1], str(issue.path[-1])
        keys = [key for where, key in strays if where == parent]
        return bool(difflib.get_close_matches(name, keys, n=1, cutoff=0.6))

    return [issue for issue in found if not misspelt(issue)]


def _code(error_type: str) -> IssueCode:
    if error_type == "extra_forbidden":
        return "QV301"
    return "QV302" if error_type == "missing" else "QV303"


def document_path(data: Any, loc: Sequence[str | int], *, keep_last: bool) -> FieldPath:
    """The part of ``loc`` that indexes into ``data``; other segments name union branches or
    validators. ``keep_last`` keeps a final key absent from the data (a missing field)."""
    out: list[str | int] = []
    node = data
    for i, seg in enumerate(loc):
        in_map = isinstance(node, Mapping) and seg in node
        if in_map or (isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node)):
            node = node[seg]
        elif not (keep_last and i == len(loc) - 1 and isinstance(node, Mapping)):
            continue
        out.append(seg)
    return tuple(out)


def _issue(kind: str, code: IssueCode, path: FieldPath, group: list[ErrorDetails]) -> SchemaIssue:
    if code == "QV301":
        return SchemaIssue(code, path, _unknown(kind, path))
    if code == "QV302":
        return SchemaIssue(code, path, f"missing required field '{path[-1]}'")
    specific = [e for e in group if e["type"] not in _TYPES]
    if specific:  # the value had the right type for some branch: its complaint is the real one
        return SchemaIssue(code, path, _value_message(kind, path, specific[0]))
    return SchemaIssue(code, path, _type_message(group))


def _unknown(kind: str, path: FieldPath) -> str:
    """``unknown field 'KEY' (did you mean 'NAME'?)``: the closest name ``kind`` allows there."""
    key = str(path[-1])
    allowed = sorted(field_names(kind, path[:-1]))
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field '{key}' (did you mean '{close[0]}'?)"
    if allowed:
        return f"unknown field '{key}' (allowed: {', '.join(allowed)})"
    return f"unknown field '{key}'"


unknown_field_message = _unknown


def _type_message(group: list[ErrorDetails]) -> str:
    wanted = list(dict.fromkeys(_TYPES[e["type"]] for e in group))
    if "a number" in wanted and "an integer" in wanted:
        wanted.remove("an integer")  # a number includes integers
    expected = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
    return f"expected {expected}, got {_show(group[0]['input'])}"


def _value_message(kind: str, path: FieldPath, error: ErrorDetails) -> str:
    kind_of, ctx, value = error["type"], error.get("ctx") or {}, error["input"]
    if kind_of == "literal_error":
        choices = [str(c) for c in enum_values(kind, path)] or [str(ctx.get("expected", ""))]
        if len(choices) == 1:
            return f"expected '{choices[0]}', got {_show(value)}"
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{_show(value)} is not one of {', '.join(choices)}{hint}"
    if kind_of == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{_show(value)} {_PATTERNS.get(pattern, f'does not match {pattern}')}"
    if kind_of in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        return f"{_show(value)} must be {_BOUNDS[kind_of]} {number(bound)}"
    if kind_of == "too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least} items"
    if kind_of == "date_format":
        return f"{_show(value)} is not a valid date (YYYY-MM-DD)"
    if kind_of == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML, short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- looking up the schema at a document path (error path only) ---------------------------------


def _expand(root: Mapping[str, Any], nodes: Iterable[Any]) -> list[Mapping[str, Any]]:
    """``nodes`` plus everything reachable through $ref and combinators (same path)."""
    out: list[Mapping[str, Any]] = []
    todo = [n for n in nodes if isinstance(n, Mapping)]
    while todo and len(out) < 64:
        node = todo.pop()
        out.append(node)
        target = resolve(root, node)
        todo.extend([target] if target is not None else [])
        for word in ("anyOf", "oneOf", "allOf"):
            todo.extend(n for n in node.get(word) or () if isinstance(n, Mapping))
    return out


def _nodes_at(kind: str, path: FieldPath) -> list[Mapping[str, Any]]:
    root = kind_schema(kind)
    nodes = _expand(root, [root])
    for seg in path:
        step: list[Any] = []
        for node in nodes:
            props = node.get("properties") or {}
            if isinstance(seg, str) and seg in props:
                step.append(props[seg])
            elif isinstance(seg, int):
                step.append(node.get("items"))
            else:
                step.append(node.get("additionalProperties"))
        nodes = _expand(root, step)
    return nodes


def field_names(kind: str, path: FieldPath) -> set[str]:
    """Field names the schema of ``kind`` allows at ``path``."""
    return {str(k) for node in _nodes_at(kind, path) for k in node.get("properties") or {}}


def enum_values(kind: str, path: FieldPath) -> list[Any]:
    """Allowed values of an enum field at ``path`` (in schema order)."""
    values: list[Any] = []
    for node in _nodes_at(kind, path):
        values.extend(v for v in node.get("enum") or () if v not in values)
        if "const" in node and node["const"] not in values:
            values.append(node["const"])
    return values
