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

from qv_config.yamlio.scalars import NumberTooLong, resolve_plain
from qv_config.yamlio.types import ReplaceDict, ReplaceList

MAX_DEPTH = 300
"""Deepest nesting accepted. libyaml's cost grows with the square of the depth, so a 1 MiB file
of ``[`` would take minutes; real configuration is < 20 levels deep. (Two Python frames per
level stay well inside the default recursion limit.)"""

REPLACE_TAG = "!replace"

ABSTAIN: Any = object()


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
    except (yaml.YAMLError, NumberTooLong):
        return ABSTAIN


def _lean_body(next_event: Any) -> Any:
    root: dict[str, Any] = {}
    stack: list[Any] = [root]
    top: Any = root
    key: Any = None  # the pending key of the mapping on top (None: a key comes next)
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return ABSTAIN
            text = event.value
            value = text if event.style or not event.implicit[0] else resolve_plain(text)
            if type(top) is list or type(top) is ReplaceList:
                top.append(value)
            elif key is not None:
                top[key] = value
                key = None
            elif type(value) is not str or value in top or (text == "<<" and not event.style):
                return ABSTAIN
            else:
                key = intern(value)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
            if not stack:
                return root
            top, key = stack[-1], None
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or len(stack) >= MAX_DEPTH:
                return ABSTAIN
            tag = event.tag
            if tag is None:
                child: Any = {} if kind is MappingStartEvent else []
            elif tag == REPLACE_TAG:
                child = ReplaceDict() if kind is MappingStartEvent else ReplaceList()
            else:
                return ABSTAIN
            if type(top) is list or type(top) is ReplaceList:
                top.append(child)
            elif key is None:
                return ABSTAIN  # a mapping or a list as a key
            else:
                top[key] = child
            stack.append(child)
            top, key = child, None
        else:  # an alias, or anything unexpected
            return ABSTAIN
