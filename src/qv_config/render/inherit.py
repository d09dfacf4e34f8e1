"""``extends`` linearisation (SPEC §3.2), cached per snapshot.

Depth-first, left to right, each template at its first place: for ``doc extends [a, b]`` with
``a extends [c]`` and ``b extends [c]`` the order is ``c, a, b, doc``. The linearisation of a
template is computed once per snapshot, as is the merged value of every template chain, so 10,000
documents sharing three template levels merge those templates once.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qv_config.render.merge import NameProblem, merge, merge_layers, name_problems
from qv_config.render.templating import Scan, Trie, dynamic_paths, union
from qv_config.render.types import Layer
from qv_config.repo.types import Snapshot
from qv_config.yamlio import LoadedDoc
from qv_config.yamlio.types import FieldPath


class InheritError(Exception):
    """An inheritance problem located in one file (the file that holds the bad ``extends``)."""

    def __init__(self, code: str, message: str, file: LoadedDoc, path: FieldPath) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file
        self.path = path


@dataclass
class TemplateCache:
    """Per-snapshot memo of linearisations and of merged template chains."""

    templates: Mapping[str, LoadedDoc]
    linear: dict[str, tuple[str, ...] | InheritError] = field(default_factory=dict)
    merged: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    # per loaded document: (the document, its trie, what the walk that made it saw)
    tries: dict[int, tuple[LoadedDoc, Trie | None, Scan]] = field(default_factory=dict)

    # per chain: its layers, its trie, whether a template of it has a name problem (names_ok)
    layers: dict[tuple[str, ...], tuple[tuple[Layer, ...], Trie | None, bool]] = field(
        default_factory=dict
    )
    chains: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)  # by extends

    def chain_trie(self, names: tuple[str, ...]) -> Trie | None:
        return self._chain(names)[1]

    def chain_info(self, names: tuple[str, ...]) -> tuple[tuple[Layer, ...], Trie | None, bool]:
        """The chain's layers, its trie, and whether one of its templates has a name-keyed list
        that repeats a name or has one that is not text (one lookup per document)."""
        return self._chain(names)

    def _chain(self, names: tuple[str, ...]) -> tuple[tuple[Layer, ...], Trie | None, bool]:
        found = self.layers.get(names)
        if found is None:
            layers = tuple(Layer("template", name, self.templates[name]) for name in names)
            trie: Trie | None = None
            named = False
            for layer in layers:
                _, layer_trie, scan = self.scanned(layer.doc)
                trie = union(trie, layer_trie)
                named = named or scan.names
            found = self.layers[names] = (layers, trie, named)
        return found

    def trie(self, doc: LoadedDoc) -> Trie | None:
        """Where ``doc`` needs templating (memoised per loaded document)."""
        return self.scanned(doc)[1]

    def scanned(self, doc: LoadedDoc) -> tuple[LoadedDoc, Trie | None, Scan]:
        """``doc``, its trie and what the walk that made it saw (memoised per document)."""
        found = self.tries.get(id(doc))
        if found is None or found[0] is not doc:
            scan = Scan()
            found = (doc, dynamic_paths(doc.data, scan), scan)
            self.tries[id(doc)] = found
        return found

    def name_problems(self, doc: LoadedDoc) -> list[NameProblem]:
        """Repeated or non-text names in ``doc``'s name-keyed lists (QV221, QV222)."""
        return name_problems(doc.data) if self.scanned(doc)[2].names else []

    def clean(self, doc: LoadedDoc) -> bool:
        """Whether every part of ``doc`` is result data as it is (``Scan.unclean``)."""
        return not self.scanned(doc)[2].unclean

    def chain(self, doc: LoadedDoc) -> tuple[str, ...]:
        """Linearised template names for ``doc``; raises InheritError."""
        extends = tuple(extends_of(doc))
        known = self.chains.get(extends)  # thousands of documents extend the same templates
        if known is not None:
            return known
        order: dict[str, None] = {}
        for pos, name in enumerate(extends):
            for item in self._linear(name, (), doc, ("extends", pos)):
                order.setdefault(item, None)
        # Only a chain that linearised is kept: an error is raised again, located in ``doc``.
        found = self.chains[extends] = tuple(order)
        return found

    def merged_chain(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The templates of ``names`` merged in order (shared: never mutate)."""
        found = self.merged.get(names)
        if found is None:
            if len(names) == 1:
                found = merge_layers([body(self.templates[names[0]])])
            else:
                found = merge(self.merged_chain(names[:-1]), body(self.templates[names[-1]]))
            self.merged[names] = found
        return found

    def _linear(
        self, name: str, stack: tuple[str, ...], holder: LoadedDoc, where: FieldPath
    ) -> tuple[str, ...]:
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name) :], name))
            raise InheritError("QV210", f"extends cycle: {cycle}", holder, where)
        known = self.linear.get(name)
        if isinstance(known, InheritError):
            raise known
        if known is not None:
            return known
        try:
            result = self._compute(name, stack, holder, where)
        except InheritError as err:
            # Shared by every document naming ``name``: an error in a template (but a cycle,
            # which depends on the path taken), never one in this document's own extends.
            shared = err.code != "QV210" if stack else err.file is not holder
            if shared:
                self.linear[name] = err
            raise
        self.linear[name] = result
        return result

    def _compute(
        self, name: str, stack: tuple[str, ...], holder: LoadedDoc, where: FieldPath
    ) -> tuple[str, ...]:
        doc = self.templates.get(name)
        if doc is None:
            raise InheritError("QV211", missing_message(name, self.templates), holder, where)
        order: dict[str, None] = {}
        for pos, parent in enumerate(extends_of(doc)):
            for item in self._linear(parent, (*stack, name), doc, ("extends", pos)):
                order.setdefault(item, None)
        order.setdefault(name, None)
        return tuple(order)


def missing_message(name: str, templates: Mapping[str, LoadedDoc]) -> str:
    close = difflib.get_close_matches(name, list(templates), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"template {name!r} not found (expected templates/{name}.yaml){hint}"


def extends_of(doc: LoadedDoc) -> list[str]:
    data = doc.data
    value = data.get("extends") if isinstance(data, dict) else None
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not _all_text(value):
        raise InheritError(
            "QV211",
            "extends must be a list of template names, e.g. [strategy/base]",
            doc,
            ("extends",),
        )
    return value


def _all_text(items: list[Any]) -> bool:
    for item in items:  # noqa: SIM110 (not all() over a generator: once per document)
        if not isinstance(item, str):
            return False
    return True


def body(doc: LoadedDoc) -> dict[str, Any]:
    """A layer's mapping without ``extends`` (a shallow copy only when needed)."""
    data = doc.data
    if "extends" not in data:
        return data  # type: ignore[no-any-return]
    return {key: value for key, value in data.items() if key != "extends"}


_CACHES: dict[int, tuple[weakref.ref[Snapshot], TemplateCache]] = {}


def cache_for(snapshot: Snapshot) -> TemplateCache:
    """The snapshot's template cache; dropped when the snapshot is garbage collected."""
    key = id(snapshot)
    entry = _CACHES.get(key)
    if entry is not None and entry[0]() is snapshot:
        return entry[1]
    cache = TemplateCache(snapshot.templates)
    _CACHES[key] = (weakref.ref(snapshot, lambda _ref: _CACHES.pop(key, None)), cache)
    return cache
