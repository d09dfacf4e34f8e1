"""Templating of merged documents (SPEC §3.4), copy-on-write, with a per-render memo.

Merged documents share most of their subtrees with the (cached) templates, so a subtree known to
hold no template string is remembered by identity and skipped for every later document. Strings
without ``{{``/``{%`` are never handed to Jinja2. The same walk rejects what canonical JSON cannot
hold (non-finite floats, non-string keys), so the desired state never has to check again.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from qv_config.cache.templates import MISSING, NO_VALUES, TemplateValues
from qv_config.render import bounds
from qv_config.render.canonical import first_problem
from qv_config.render.merge import (
    NameProblem,
    is_name_keyed,
    is_name_keyed_any,
    list_names,
    name_problems,
)
from qv_config.render.sandbox import Compiled, Pieces, TemplateProblem, compile_template
from qv_config.yamlio.types import FieldPath

_NONE = object()


class _Full(Exception):
    """The document's templated values came to more than ``max_render_bytes``: stop here."""


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    path: FieldPath


class Walker:
    """Renders the template strings of one document after another, sharing a static memo."""

    def __init__(
        self,
        limits: bounds.RenderLimits = bounds.DEFAULT_LIMITS,
        memo: TemplateValues = NO_VALUES,
    ) -> None:
        self._limits = limits  # time and size of each document's templating
        self._memo = memo  # values of templates that do not read ``doc``, kept across runs
        # id -> object (kept alive so an id is never reused while it is in the memo)
        self._static: dict[int, Any] = {}
        self._stack: list[str | int] = []
        self._dynamic = 0  # template strings and problems met so far (for the memo)
        self._context: dict[str, Any] = {}
        # template text -> value (or problem), for templates that do not read ``doc``: their
        # value is the same for every document of the environment. A Walker therefore serves
        # one (env, project) context; only ``doc`` may change between documents.
        self._results: dict[str, Any] = {}
        self._digest: tuple[tuple[Any, ...], str] | None = None  # of the context without doc
        self._digest_now: str | None = None  # ``_digest``'s, looked up for the current document
        # expression -> its text, for expressions of spliced strings that do not read ``doc``
        self._pieces: Pieces = {}
        # Characters of the current document's templated values so far: the document is stopped
        # (QV234) as soon as they pass max_render_bytes, not after it is built and encoded (600
        # copies of a 900 KB variable were 1 GB of values and JSON before the check).
        self._size = 0
        self.problems: list[Problem] = []

    def render(
        self, data: dict[str, Any], context: dict[str, Any], trie: Trie | None = True
    ) -> tuple[Any, list[Problem]]:
        """Template ``data``; only the paths of ``trie`` are visited (True: everything)."""
        self._context = context
        self._digest_now = None
        self.problems = []
        self._stack.clear()
        self._size = 0
        if trie is None:
            return data, self.problems
        budget = bounds.begin(self._limits)
        try:
            return self._guided(data, trie), self.problems
        except _Full:
            return data, self.problems  # not used: the document has a problem
        finally:
            bounds.end(budget)

    def _guided(self, value: Any, trie: Trie) -> Any:
        if not isinstance(trie, dict) or type(value) is not dict:
            return self._value(value)
        out: dict[str, Any] | None = None
        for key, sub in trie.items():
            item = value.get(key, _NONE)
            if item is _NONE:
                continue  # deleted or replaced by a later layer
            self._stack.append(key)
            new = self._guided(item, sub)
            self._stack.pop()
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out

    def _value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._string(value) if ("{{" in value or "{%" in value) else value
        if kind is dict:
            return self._dict(value)
        if kind is list:
            return self._list(value)
        if kind is float and not math.isfinite(value):
            self._problem("QV303", f"{value} is not a JSON number: use a finite number")
        return value

    def _dict(self, value: dict[Any, Any]) -> Any:
        if self._static.get(id(value)) is value:
            return value
        before = self._dynamic
        out: dict[Any, Any] | None = None
        stack = self._stack
        for key, item in value.items():
            kind = type(item)
            # Plain scalars are by far the most common: decide them inline, without a call.
            if type(key) is str and (
                (kind is str and "{{" not in item and "{%" not in item)
                or kind is int
                or kind is bool
                or item is None
            ):
                continue
            stack.append(key)
            if type(key) is not str:
                self._problem("QV303", f"key {key!r} is not a string: quote it")
            new = self._value(item)
            stack.pop()
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        if self._dynamic == before:
            self._static[id(value)] = value
        return value if out is None else out

    def _list(self, value: list[Any]) -> Any:
        if self._static.get(id(value)) is value:
            return value
        before = self._dynamic
        out: list[Any] | None = None
        for pos, item in enumerate(value):
            self._stack.append(pos)
            new = self._value(item)
            self._stack.pop()
            if new is not item:
                if out is None:
                    out = list(value)
                out[pos] = new
        if self._dynamic == before:
            self._static[id(value)] = value
        if out is not None:  # templated names may now repeat (the merge saw the raw strings)
            self._names(list_names(out, ()) if is_name_keyed(out) else [])
        return value if out is None else out

    def _names(self, found: list[NameProblem]) -> None:
        for path, code, message in found:
            self._problem(code, message, path)

    def _string(self, text: str) -> Any:
        self._dynamic += 1
        known = self._results.get(text, _NONE)
        if known is not _NONE:
            return self._reuse(text, known)
        # A template that does not read ``doc`` gave this value in this same context on an
        # earlier run: no need to compile (or even import) Jinja2 for it.
        kept = self._memo.get(self._context_digest(), text)
        if kept is not MISSING:
            self._results[text] = kept
            return self._checked(text, kept)
        compiled = compile_template(text)
        try:
            if isinstance(compiled, TemplateProblem):
                raise compiled
            if compiled.run_kept is not None:
                result = compiled.run_kept(self._context, self._pieces)
            else:
                result = compiled.run(self._context)
        except TemplateProblem as problem:
            if not (isinstance(compiled, Compiled) and compiled.uses_doc):
                self._results[text] = problem
            return self._reuse(text, problem)
        if not compiled.uses_doc:
            self._results[text] = result
            self._memo.put(self._context_digest(), text, result)
        return self._checked(text, result)

    def _checked(self, text: str, result: Any) -> Any:
        limit = self._limits.max_bytes
        self._size += len(result) if type(result) is str else bounds.size_of(result, limit)
        if self._size > limit:
            self._full(limit)
        if isinstance(result, float) and not math.isfinite(result):
            self._problem("QV303", f"{text!r} gives {result}, which is not a JSON number")
        elif isinstance(result, list | dict):
            self._names(name_problems(result))
            found = first_problem(result)  # a key that is not text, a NaN: at its own field
            if found is not None:
                self._problem("QV408", found[1], found[0])
        return result

    def _full(self, limit: int) -> None:
        message = (
            f"the rendered document is above {limit:,} bytes "
            "(qv.yaml spec.limits.max_render_bytes): its templated values come to "
            f"{self._size:,} characters by here"
        )
        self.problems.append(Problem("QV234", message, tuple(self._stack)))
        raise _Full

    def _context_digest(self) -> str:
        """Digest of the context without ``doc`` (computed once per env/project objects), and of
        the render limits: a value kept under looser limits must not pass under tighter ones."""
        if self._digest_now is not None:  # the context does not change within a document
            return self._digest_now
        known = self._digest
        if known is None or not _same(known[0], self._context):
            shared = {key: value for key, value in self._context.items() if key != "doc"}
            objects = tuple(shared.values())  # held, so that identity means "the same context"
            # plain data: repr is exact (1 vs 1.0 vs True)
            text = _described((sorted(shared.items()), self._limits))
            known = (objects, hashlib.blake2b(text.encode(), digest_size=16).hexdigest())
            self._digest = known
        self._digest_now = known[1]
        return known[1]

    def _reuse(self, text: str, known: Any) -> Any:
        if isinstance(known, TemplateProblem):
            self.problems.append(Problem(known.code, known.message, tuple(self._stack)))
            return text
        return self._checked(text, known)  # each document that holds the value is checked

    def _problem(self, code: str, message: str, below: FieldPath = ()) -> None:
        self._dynamic += 1
        self.problems.append(Problem(code, message, (*self._stack, *below)))


def _described(value: Any) -> str:
    """``repr`` of plain context data (exact: 1 vs 1.0 vs True), where a sealed secret
    (``render.sealing``), whose ``repr`` fails by design, reads as its kind alone."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_described(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_described, value)) + "]"
    if getattr(type(value), "qv_sealed", False):  # tested without importing Jinja2 for it
        return "<sealed>"
    return repr(value)


def _same(old: tuple[Any, ...], context: dict[str, Any]) -> bool:
    """Whether ``context`` without ``doc`` holds the objects ``old``, in order (asked once per
    templated document: a loop, without building the shared context again)."""
    at = 0
    for key, value in context.items():
        if key == "doc":
            continue
        if at == len(old) or old[at] is not value:
            return False
        at += 1
    return at == len(old)


# A "trie" of the paths of a layer that need the walker: ``True`` means "walk this whole value";
# a dict maps keys to sub-tries. ``None`` means the layer holds nothing to template or check.
Trie = dict[str, Any] | bool


@dataclass
class Scan:
    """What ``dynamic_paths`` saw of a layer besides where it needs the walker."""

    names: bool = False  # a name-keyed list repeats a name or has one that is not text
    # A null in a mapping, a ``!replace`` value or a walk cut short: ``merge.fresh`` may have to
    # copy parts of the layer. Else every part of it is already result data (``fresh`` returns
    # it as it is), which merging can take without walking it again.
    unclean: bool = False


def dynamic_paths(value: Any, scan: Scan | None = None) -> Trie | None:
    """Where ``value`` holds template strings or values canonical JSON rejects (None: nowhere).

    Every such value of a merged document comes from some layer at the same mapping path (lists
    are marked whole, since name-keyed merging moves items), so walking only the union of the
    layers' tries visits everything the full walk would. The same walk tells ``scan`` when a
    name-keyed list repeats a name or has one that is not text (``merge.name_problems`` then
    says where) and whether merging must copy anything of it: one walk of each layer, not three.
    """
    return _paths(value, scan if scan is not None else Scan())


def _paths(value: Any, scan: Scan) -> Trie | None:
    kind = type(value)
    if kind is str:
        return True if ("{{" in value or "{%" in value) else None
    if kind is float:
        return None if math.isfinite(value) else True
    if isinstance(value, list):
        return _list_paths(value, scan)
    if not isinstance(value, dict):
        return None
    if kind is not dict:
        scan.unclean = True
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            scan.unclean = True  # the rest of this mapping is not looked at
            return True
        kind = type(item)
        # Most values are plain text, numbers and booleans: told here without a call each.
        if kind is str:
            if "{{" in item or "{%" in item:
                out[key] = True
            continue
        if kind is int or kind is bool:
            continue
        if item is None:
            scan.unclean = True
            continue
        sub = _paths(item, scan)
        if sub is not None:
            out[key] = sub
    return out or None


def _list_paths(value: list[Any], scan: Scan) -> Trie | None:
    if type(value) is not list:
        scan.unclean = True
    if not scan.names and is_name_keyed_any(value) and list_names(value, ()):
        scan.names = True
    found = False
    for item in value:  # every item is looked at (``scan``), not only up to the first found
        kind = type(item)
        if kind is str:
            found = found or "{{" in item or "{%" in item
        elif not (kind is int or kind is bool or item is None) and _paths(item, scan) is not None:
            found = True
    return True if found else None


def union(first: Trie | None, second: Trie | None) -> Trie | None:
    if first is None:
        return second
    if second is None:
        return first
    if first is True or second is True or first is False or second is False:
        return True
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    out = dict(first)
    for key, sub in second.items():
        out[key] = union(out.get(key), sub)
    return out
