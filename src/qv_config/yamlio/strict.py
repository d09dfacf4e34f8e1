"""qv's one YAML reader: libyaml's C event stream and qv's own composer.

libyaml only tokenises and parses; every decision is made here, in one streaming pass over the
events, so hostile input is refused as soon as it is seen: a duplicate key, a merge key, an
unknown tag, a non-string key, a second document, nesting too deep, or alias expansion beyond
``Limits.max_alias_nodes`` (counted while streaming: a billion-laughs file fails after ~1,000
nodes, never after materialising the expansion) or beyond ``Limits.max_file_bytes`` characters of
scalar text (a large scalar aliased a few hundred times stays under the node bound but would
render to hundreds of MB).

Positions (1-based line:col of every value and key) are recorded only when asked, so the
position-free run stays as lean as the event loop allows.
"""

from __future__ import annotations

import copy
from sys import intern
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from qv_config.yamlio.lean import ABSTAIN, MAX_DEPTH, REPLACE_TAG, lean
from qv_config.yamlio.scalars import NumberTooLong, resolve_plain
from qv_config.yamlio.types import FieldPath, Limits, Mark, ReplaceDict, ReplaceList, YamlError


class _NeedPositions(Exception):
    """Raised when an error message needs a position the lean run did not record."""


def _mark(event: Event) -> Mark:
    start = event.start_mark
    if start is None:  # libyaml always sets marks; PyYAML's types allow None
        return Mark(1, 1)
    return Mark(start.line + 1, start.column + 1)


class Composer:
    """Builds one document's value from libyaml events, enforcing qv's rules as it goes."""

    def __init__(self, path: str, data: bytes, limits: Limits, track: bool) -> None:
        self.path = path
        self.data = data
        self.limits = limits
        self.positions: dict[FieldPath, Mark] | None = {} if track else None
        self._next = CParser(data).get_event
        self._anchors: dict[str, tuple[Any, int, int]] = {}  # value, nodes, scalar characters
        self._nodes = 0  # nodes produced so far, including alias expansions
        self._expanded = 0  # nodes produced by alias expansion
        self._chars = 0  # scalar characters produced so far, including alias expansions
        self._expanded_chars = 0  # scalar characters produced by alias expansion
        self.value: Any = None

    # -- errors --------------------------------------------------------------------------------

    def fail(self, code: str, mark: Mark | None, message: str) -> YamlError:
        return YamlError(code, self.path, mark, message)

    def _event(self) -> Event:
        try:
            event: Event | None = self._next()
        except yaml.reader.ReaderError as err:
            raise self.fail("QV101", self._byte_mark(err.position), _reader_message(err)) from None
        except yaml.MarkedYAMLError as err:
            raise self.fail("QV101", _problem_mark(err), _parser_message(err)) from None
        if event is None:  # only after StreamEndEvent, which compose() never reads past
            raise self.fail("QV101", None, "unexpected end of the YAML stream")
        return event

    def _byte_mark(self, offset: int) -> Mark:
        start = self.data.rfind(b"\n", 0, offset) + 1
        column = len(self.data[start:offset].decode("utf-8", errors="replace"))
        return Mark(self.data.count(b"\n", 0, offset) + 1, column + 1)

    # -- document ------------------------------------------------------------------------------

    def compose(self) -> Any:
        self._event()  # StreamStartEvent
        event = self._event()
        if not isinstance(event, DocumentStartEvent):
            raise self.fail("QV108", Mark(1, 1), "the file is empty: write one YAML mapping")
        root_event = self._event()
        if not isinstance(root_event, MappingStartEvent) or root_event.tag is not None:
            self._reject_root(root_event)
        value = self._node(root_event, (), 0)
        self._event()  # DocumentEndEvent
        event = self._event()
        if not isinstance(event, StreamEndEvent):
            raise self.fail(
                "QV104",
                _mark(event),
                "a second YAML document starts here: qv reads one document per file; "
                "move it to its own file",
            )
        return value

    def _reject_root(self, event: Event) -> None:
        if isinstance(event, MappingStartEvent):
            return  # tagged mapping: _node reports the tag (QV109) or accepts !replace
        if isinstance(event, ScalarEvent) and event.value == "" and event.tag is None:
            nxt = self._event()
            if isinstance(nxt, DocumentEndEvent):
                raise self.fail("QV108", Mark(1, 1), "the file has no content: write a mapping")
        what = _describe(event)
        raise self.fail(
            "QV108",
            _mark(event),
            f"the top level is {what}: a qv document is a mapping (key: value)",
        )

    # -- nodes ---------------------------------------------------------------------------------

    def _node(self, event: Event, fpath: FieldPath, depth: int) -> Any:
        before, before_chars = self._nodes, self._chars
        cls = type(event)
        if cls is ScalarEvent:
            value = self._scalar(event)  # type: ignore[arg-type]
            if self.positions is not None:
                self.positions[fpath] = _mark(event)
        elif cls is MappingStartEvent:
            value = self._mapping(event, fpath, depth + 1)  # type: ignore[arg-type]
        elif cls is SequenceStartEvent:
            value = self._sequence(event, fpath, depth + 1)  # type: ignore[arg-type]
        else:
            return self._alias(event, fpath)  # type: ignore[arg-type]
        if event.anchor is not None:  # type: ignore[attr-defined]
            weight = (self._nodes - before, self._chars - before_chars)
            self._anchors[event.anchor] = (value, *weight)  # type: ignore[attr-defined]
        return value

    def _scalar(self, event: ScalarEvent) -> Any:
        self._nodes += 1
        self._chars += len(event.value)
        if event.tag is not None:
            self._unknown_tag(event, "a scalar")
        if event.style or not event.implicit[0]:
            return event.value  # quoted and block scalars are always strings
        try:
            return resolve_plain(event.value)
        except NumberTooLong:
            raise self.fail(
                "QV101", _mark(event), "the number has more than 4300 digits: quote it"
            ) from None

    def _unknown_tag(self, event: Event, what: str) -> None:
        tag = event.tag  # type: ignore[attr-defined]
        if tag == REPLACE_TAG:
            raise self.fail(
                "QV109", _mark(event), f"!replace applies to a mapping or a list, not to {what}"
            )
        raise self.fail(
            "QV109",
            _mark(event),
            f"unknown tag {tag!r}: qv knows only !replace (on a mapping or a list); remove the tag",
        )

    def _enter(self, event: Event, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(
                "QV101", _mark(event), f"nesting is deeper than {MAX_DEPTH} levels: flatten it"
            )
        tag = event.tag  # type: ignore[attr-defined]
        if tag is not None and tag != REPLACE_TAG:
            self._unknown_tag(event, "")
        self._nodes += 1

    def _mapping(self, event: MappingStartEvent, fpath: FieldPath, depth: int) -> Any:
        self._enter(event, depth)
        out: dict[str, Any] = ReplaceDict() if event.tag else {}
        positions = self.positions
        if positions is not None:
            positions[fpath] = _mark(event)
        while True:
            key_event = self._event()
            if type(key_event) is MappingEndEvent:
                break
            key = self._key(key_event, out, fpath)
            child = (*fpath, key)
            if positions is not None:
                positions[("__key__", *child)] = _mark(key_event)
            out[key] = self._node(self._event(), child, depth)
        return out

    def _sequence(self, event: SequenceStartEvent, fpath: FieldPath, depth: int) -> Any:
        self._enter(event, depth)
        out: list[Any] = ReplaceList() if event.tag else []
        if self.positions is not None:
            self.positions[fpath] = _mark(event)
        while True:
            item = self._event()
            if type(item) is SequenceEndEvent:
                break
            out.append(self._node(item, (*fpath, len(out)), depth))
        return out

    def _key(self, event: Event, mapping: dict[str, Any], fpath: FieldPath) -> str:
        key = self._key_value(event)
        if key in mapping:
            raise self.fail("QV102", _mark(event), self._duplicate_message(key, fpath))
        return intern(key)  # thousands of files repeat the same few hundred keys

    def _key_value(self, event: Event) -> str:
        if type(event) is ScalarEvent:
            if event.value == "<<" and event.style == "" and event.tag is None:
                raise self.fail(
                    "QV103",
                    _mark(event),
                    "merge key '<<' is not supported (YAML 1.2): write the keys out, "
                    "or use `extends` with a template",
                )
            key = self._scalar(event)
        elif type(event) is AliasEvent:
            key = self._alias(event, None)
        else:
            raise self.fail(
                "QV110", _mark(event), f"a mapping key must be a string, not {_describe(event)}"
            )
        if type(key) is not str:
            raise self.fail(
                "QV110",
                _mark(event),
                f"mapping key {_source(event)} is read as {_type_name(key)}, "
                "not a string: quote the key",
            )
        return key

    def _duplicate_message(self, key: str, fpath: FieldPath) -> str:
        if self.positions is None:
            raise _NeedPositions
        first = self.positions.get(("__key__", *fpath, key))
        where = f" (first defined on line {first.line})" if first else ""
        return f"duplicate key {key!r}{where}: keep one and delete the other"

    def _alias(self, event: AliasEvent, fpath: FieldPath | None) -> Any:
        entry = self._anchors.get(event.anchor)  # type: ignore[arg-type]
        if entry is None:
            raise self.fail(
                "QV101",
                _mark(event),
                f"alias *{event.anchor} refers to no anchor defined before it",
            )
        value, size, chars = entry
        self._expanded += size
        self._expanded_chars += chars
        self._check_expansion(event)
        self._nodes += size
        self._chars += chars
        if fpath is not None and self.positions is not None:
            self.positions[fpath] = _mark(event)
        # A copy, bounded by the alias limit, so that no two places of a document share an
        # object a later stage might mutate.
        return value if size == 1 else copy.deepcopy(value)

    def _check_expansion(self, event: AliasEvent) -> None:
        limits = self.limits
        if self._expanded > limits.max_alias_nodes:
            raise self.fail(
                "QV105",
                _mark(event),
                f"aliases expand to more than {limits.max_alias_nodes} nodes: "
                "write the values out instead of nesting aliases",
            )
        # The node bound alone lets one large scalar be repeated: 500 aliases of a 900 KB string
        # pass it and render to 450 MB. Expanded text may not exceed what one file may hold.
        if self._expanded_chars > limits.max_file_bytes:
            raise self.fail(
                "QV105",
                _mark(event),
                f"aliases expand to more than {limits.max_file_bytes} characters of text "
                "(the file size bound): write a large value once instead of repeating it "
                "through aliases",
            )


def load_value(path: str, data: bytes, limits: Limits) -> Any:
    """The value of ``data`` (UTF-8, no BOM); raises ``YamlError`` like ``compose``."""
    value = lean(data)
    return value if value is not ABSTAIN else compose(path, data, limits).value


def compose(path: str, data: bytes, limits: Limits, *, track: bool = False) -> Composer:
    """Compose ``data`` (UTF-8, no BOM) strictly; the value is in ``composer.value``."""
    composer = Composer(path, data, limits, track)
    try:
        composer.value = composer.compose()
    except _NeedPositions:
        return compose(path, data, limits, track=True)
    return composer


def _problem_mark(err: yaml.MarkedYAMLError) -> Mark | None:
    mark = err.problem_mark or err.context_mark
    return Mark(mark.line + 1, mark.column + 1) if mark else None


def _parser_message(err: yaml.MarkedYAMLError) -> str:
    problem = err.problem or "invalid YAML"
    if "maximum nesting depth" in problem:
        # libyaml ≥ 0.2.6 stops at 1,000 levels while scanning ahead, before qv's own limit of
        # MAX_DEPTH is reached: the same advice whichever of the two sees it first.
        return f"nesting is deeper than {MAX_DEPTH} levels: flatten it"
    context = f" {err.context}" if err.context else ""
    if err.context_mark is not None and err.context:
        context += f" started on line {err.context_mark.line + 1}"
    return f"syntax error: {problem}{context}; fix the YAML at this position"


def _reader_message(err: yaml.reader.ReaderError) -> str:
    return (
        f"character U+{err.character:04X} is not allowed in YAML ({err.reason}); "
        "remove it or write it as an escape in a double-quoted string"
    )


def _describe(event: Event) -> str:
    if isinstance(event, MappingStartEvent):
        return "a mapping"
    if isinstance(event, SequenceStartEvent):
        return "a list"
    if isinstance(event, AliasEvent):
        return "an alias"
    return f"the scalar {getattr(event, 'value', '')!r}"


def _source(event: Event) -> str:
    if isinstance(event, AliasEvent):
        return f"*{event.anchor}"
    return repr(getattr(event, "value", ""))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), "a value")
