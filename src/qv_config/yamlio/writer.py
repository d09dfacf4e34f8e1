"""Writing YAML: round-trip edits that keep comments (ruamel.yaml) and fast plain output.

- ``load_roundtrip`` / ``dump_roundtrip`` / ``set_path`` / ``delete_path``: for ``qv init`` and
  ``qv promote``, which edit files people wrote: comments, quotes, key order, flow style and the
  list indentation of the file are kept; only the edited lines change.
- ``dump_plain``: for ``qv render --format yaml``: block style, keys in authored order, strings
  that a YAML 1.2 or 1.1 reader (PyYAML, Go yaml.v2) would take for another type quoted.
  Hand-written (no ruamel) because it runs once per rendered document; its output reloads
  through ``load_bytes`` (and PyYAML) to the same value.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qv_config.safetext import UNSAFE_CHARS
from qv_config.yamlio.scalars import is_plain_safe_text
from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from ruamel.yaml import YAML

_Indent = tuple[int, int, int]  # ruamel's (mapping, sequence, offset)
_STYLES: dict[int, tuple[Any, _Indent]] = {}  # id(loaded doc) -> (doc, indentation of its text)
_MAX_STYLES = 256


# -- round trip ---------------------------------------------------------------------------------


def _yaml(indent: _Indent = (2, 2, 0)) -> YAML:
    from ruamel.yaml import YAML  # deferred: ruamel costs ~50 ms to import

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines people wrote
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def detect_indent(text: str) -> _Indent:
    """The list indentation ``text`` uses: ``key:\\n- a`` (offset 0) or ``key:\\n  - a`` (2)."""
    previous = ""
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- ") and previous.rstrip().endswith(":"):
            offset = (len(line) - len(stripped)) - (len(previous) - len(previous.lstrip(" ")))
            return (2, offset + 2, offset) if offset > 0 else (2, 2, 0)
        previous = line
    return (2, 2, 0)


def load_roundtrip(text: str) -> Any:
    """Load ``text`` keeping comments, quotes, key order and flow style (ruamel "rt")."""
    doc = _yaml().load(text)
    if len(_STYLES) >= _MAX_STYLES:
        _STYLES.pop(next(iter(_STYLES)))
    _STYLES[id(doc)] = (doc, detect_indent(text))
    return doc


def dump_roundtrip(data: Any) -> str:
    """Write a document loaded by ``load_roundtrip`` (edited or not) back to text."""
    entry = _STYLES.get(id(data))
    indent = entry[1] if entry is not None and entry[0] is data else (2, 2, 0)
    out = io.StringIO()
    _yaml(indent).dump(data, out)
    return out.getvalue()


def set_path(doc: Any, path: FieldPath, value: Any) -> None:
    """Set ``path`` in a round-trip document, creating missing mappings on the way."""
    if not path:
        raise ValueError("set_path needs a non-empty path")
    parent = _walk(doc, path[:-1], create=True)
    last = path[-1]
    if isinstance(parent, list):
        if not isinstance(last, int):
            raise TypeError(f"list index expected at {last!r}")
        if last == len(parent):
            parent.append(value)
            return
    parent[last] = value


def delete_path(doc: Any, path: FieldPath) -> bool:
    """Delete ``path`` from a round-trip document; False when it was not there."""
    if not path:
        raise ValueError("delete_path needs a non-empty path")
    try:
        parent = _walk(doc, path[:-1], create=False)
        del parent[path[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _walk(doc: Any, path: FieldPath, *, create: bool) -> Any:
    node = doc
    for part in path:
        if create and isinstance(part, str) and (part not in node or node[part] is None):
            from ruamel.yaml.comments import CommentedMap

            node[part] = CommentedMap()
        node = node[part]
    return node


# -- plain output ---------------------------------------------------------------------------------

# Characters that must not start a plain scalar, or that YAML reads differently anywhere in one.
_BAD_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")
# Render output goes to terminals, CI logs and pull-request comments: a character YAML forbids
# raw, or that is invisible or moves what follows (control, bidi, zero-width, tag: safetext's
# set), and GitHub's legacy command opener ``##[`` are written only as escapes in a double-quoted
# scalar ("\u202e", "#\x23["): the same value, inert on a screen.
_NOT_RAW = f"[{UNSAFE_CHARS}\ufffe\uffff]|##\\["
_UNSAFE = re.compile(r": |:$| #|^(?:---|\.\.\.)|\s$|" + _NOT_RAW)
_ESCAPE = re.compile(_NOT_RAW)  # after json.dumps, which has escaped C0, quotes and backslashes
_COMMAND_LINE = re.compile(r"^\s*::", re.MULTILINE)  # a workflow command, were it a line


def dump_plain(data: Any) -> str:
    """Block-style YAML of plain data (dict/list/scalars), reloadable to the same value."""
    out: list[str] = []
    if isinstance(data, dict):
        if not data:
            return "{}\n"
        _mapping(data, "", out)
    elif isinstance(data, list):
        if not data:
            return "[]\n"
        _sequence(data, "", out)
    else:
        out.append(_scalar(data, ""))
    out.append("")
    return "\n".join(out)


def _mapping(data: dict[Any, Any], indent: str, out: list[str], first: str | None = None) -> None:
    """Write ``data``'s items at ``indent``; the first line may carry a list dash (``first``)."""
    for key, value in data.items():
        if type(key) is not str:
            raise TypeError(f"dump_plain: mapping keys must be strings, got {key!r}")
        head = f"{first if first is not None else indent}{_text(key, '')}:"
        first = None
        _value(value, head, indent, out)


def _sequence(data: list[Any], indent: str, out: list[str]) -> None:
    for item in data:
        _value(item, f"{indent}-", indent, out, in_list=True)


def _value(value: Any, head: str, indent: str, out: list[str], *, in_list: bool = False) -> None:
    inner = indent + "  "
    if isinstance(value, dict) and value:
        if in_list:
            _mapping(value, inner, out, first=head + " ")
        else:
            out.append(head)
            _mapping(value, inner, out)
    elif isinstance(value, list) and value:
        out.append(head)
        _sequence(value, inner, out)
    else:
        out.append(f"{head} {_scalar(value, inner)}")


def _scalar(value: Any, inner: str) -> str:
    kind = type(value)
    if kind is str:
        return _text(value, inner)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _float(value)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    for base, write in _SUBCLASSES:
        if isinstance(value, base):
            return write(value, inner)
    raise TypeError(f"dump_plain cannot write a {kind.__name__}: {value!r}")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return repr(value)  # repr always has '.', 'e' or both: it reads back as a float


def _text(value: str, inner: str = "  ") -> str:
    if "\n" in value and inner and _block_ok(value):
        return _literal(value, inner)
    return _one_line(value)


@lru_cache(maxsize=1 << 16)
def _one_line(value: str) -> str:
    # Cached: keys and enum-like values repeat across thousands of rendered documents.
    plain = value and value[0] not in _BAD_START and not _UNSAFE.search(value)
    if plain and value != "<<" and is_plain_safe_text(value):
        return value
    return _quoted(value)


def _quoted(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)  # JSON escapes are YAML double-quote escapes
    return _ESCAPE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    found = match.group()
    if found == "##[":
        return "#\\x23["
    point = ord(found)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _block_ok(value: str) -> bool:
    # A literal block keeps text as is, but cannot start with a space or a line break (the
    # indentation would be misread) nor keep several trailing line breaks with plain chomping;
    # nor hold what must be escaped (a tab too: one rule), nor a line a CI log would act on.
    return (
        value[0] not in " \n"
        and not value.endswith("\n\n")
        and not _ESCAPE.search(value.replace("\n", ""))
        and not _COMMAND_LINE.search(value)
    )


def _literal(value: str, inner: str) -> str:
    chomp = "" if value.endswith("\n") else "-"
    body = value[:-1] if value.endswith("\n") else value
    lines = [f"{inner}{line}" if line else "" for line in body.split("\n")]
    return f"|{chomp}\n" + "\n".join(lines)


_SUBCLASSES: tuple[tuple[type, Callable[[Any, str], str]], ...] = (
    (bool, lambda v, _i: "true" if v else "false"),
    (int, lambda v, _i: str(int(v))),
    (float, lambda v, _i: _float(float(v))),
    (str, lambda v, i: _text(str(v), i)),
)
