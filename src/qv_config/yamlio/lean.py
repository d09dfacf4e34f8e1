"""The flat loop that builds most files' values at about half the ``Composer``'s cost.

It abstains at anything but plain mappings, lists and scalars (see ``lean``), and the strict
``Composer`` (``yamlio.strict``) then decides, so both always agree
(``tests/yamlio/test_yamlio_lean.py``).
"""

from __future__ import annotations

from sys import intern
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from qv_config.yamlio.scalars import CONSTANTS, NUMERIC_START, NumberTooLong, resolve_number
from qv_config.yamlio.scalars import resolve_plain as _resolve_plain
from qv_config.yamlio.types import ReplaceDict, ReplaceList

MAX_DEPTH = 300
"""Deepest nesting accepted. libyaml's cost grows with the square of the depth, so a 1 MiB file
of ``[`` would take minutes; real configuration is < 20 levels deep. (Two Python frames per
level stay well inside the default recursion limit.)"""

REPLACE_TAG = "!replace"

ABSTAIN: Any = object()

_KEYS: dict[str, str] = {}
"""Plain key texts met before that are string keys (not ``<<``, a number or a constant), each
interned: thousands of files repeat the same few hundred keys, and one look-up here stands for
resolving, checking and interning the key (in any style: quoted, such a text is the same
string). Bounded (``_MAX_KEYS``): unknown keys take the long way."""
_MAX_KEYS = 20_000

_RESOLVED: dict[str, Any] = dict(CONSTANTS)
"""Plain scalars' values by text: the constants, and numbers met before (bounded, like
``_KEYS``): files repeat the same limits and amounts, and a look-up costs a tenth of the
regular expressions. Numbers are immutable: sharing one object between places is safe."""
_MAX_RESOLVED = 20_000


def lean(data: bytes) -> Any:
    """The value of ``data`` built in one flat loop over the events, or ``ABSTAIN``.

    Most files are one mapping of plain, quoted and block scalars, mappings and lists: for them
    this loop gives the ``Composer``'s value at about half its cost (no recursion, no positions,
    no bookkeeping of anchors). At anything else — an anchor, an alias, a tag other than
    ``!replace``, a key that is not a plain string or is there twice, ``<<``, nesting beyond
    ``MAX_DEPTH``, a second document, a number too long, any error — it abstains, and the
    ``Composer`` decides (the value, or the exact error and position)."""
    next_event = CParser(data).get_event
    try:
        next_event()  # StreamStartEvent
        if type(next_event()) is not DocumentStartEvent:
            return ABSTAIN
        start = next_event()
        if type(start) is not MappingStartEvent or start.tag is not None or start.anchor:
            return ABSTAIN
        value = _lean_body(next_event)
        if value is ABSTAIN or type(next_event()) is not DocumentEndEvent:
            return ABSTAIN
        return value if type(next_event()) is StreamEndEvent else ABSTAIN
    except (yaml.YAMLError, NumberTooLong, RecursionError):  # the Composer says which
        return ABSTAIN


def _lean_body(next_event: Any) -> Any:
    root: dict[str, Any] = {}
    return root if _fill_mapping(root, next_event, 1) else ABSTAIN


def _fill_mapping(top: dict[str, Any], next_event: Any, depth: int) -> bool:
    """Read key and value pairs into ``top`` up to its end (True); False at anything unusual.
    ``depth``: of ``top`` (the root is 1)."""
    while True:
        event = next_event()
        if type(event) is not ScalarEvent:
            return type(event) is MappingEndEvent  # else a complex key, or an alias
        if event.anchor is not None or event.tag is not None:
            return False
        text = event.value
        key = _KEYS.get(text)  # this string whatever the style
        if key is None and (key := _new_key(event)) is None:
            return False  # not a string, or <<
        if key in top:
            return False
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return False
            text = event.value  # resolved inline, as in _fill_list (a call each: +5 %)
            if text in _RESOLVED:
                top[key] = text if event.style or not event.implicit[0] else _RESOLVED[text]
            elif text[0] in NUMERIC_START:  # not empty (a constant)
                top[key] = text if event.style or not event.implicit[0] else _number(text)
            else:  # a word: this string whatever the style
                top[key] = text
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            mapping = kind is MappingStartEvent
            top[key] = child = _child(event, mapping, depth)
            fill = _fill_mapping if mapping else _fill_list
            if child is ABSTAIN or not fill(child, next_event, depth + 1):
                return False
        else:  # an alias
            return False


def _fill_list(top: list[Any], next_event: Any, depth: int) -> bool:
    """``_fill_mapping`` for a list: items."""
    append = top.append
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return False
            text = event.value
            if text in _RESOLVED:
                append(text if event.style or not event.implicit[0] else _RESOLVED[text])
            elif text[0] in NUMERIC_START:  # not empty (a constant)
                append(text if event.style or not event.implicit[0] else _number(text))
            else:
                append(text)
        elif kind is SequenceEndEvent:
            return True
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            mapping = kind is MappingStartEvent
            child = _child(event, mapping, depth)
            append(child)
            fill = _fill_mapping if mapping else _fill_list
            if child is ABSTAIN or not fill(child, next_event, depth + 1):
                return False
        else:  # an alias
            return False


def _child(event: Any, mapping: bool, depth: int) -> Any:
    """The empty container a start event opens inside a container at ``depth``
    (``ABSTAIN``: too deep, an anchor, or an unknown tag)."""
    if event.anchor is not None or depth >= MAX_DEPTH:
        return ABSTAIN
    tag = event.tag
    if tag is None:
        return {} if mapping else []
    if tag == REPLACE_TAG:
        return ReplaceDict() if mapping else ReplaceList()
    return ABSTAIN


def _new_key(event: Any) -> str | None:
    """The key of a scalar not in ``_KEYS``: its text interned when it is a string (quoted;
    plain, neither ``<<`` nor read as another type, and then remembered); else None."""
    text = event.value
    if event.style or not event.implicit[0]:
        return intern(text)
    if text == "<<" or type(_resolve_plain(text)) is not str:
        return None
    key = intern(text)
    if len(_KEYS) < _MAX_KEYS:
        _KEYS[key] = key
    return key


def _number(text: str) -> Any:
    """``resolve_plain`` of a plain scalar that may be a number (remembered in ``_RESOLVED``)."""
    value = resolve_number(text)
    if len(_RESOLVED) < _MAX_RESOLVED:
        _RESOLVED[text] = value
    return value
