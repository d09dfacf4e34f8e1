"""Where a document of an environment is written, and the round-trip edits that write it.

A base document (``strategies/x.yaml``) is written through its overlay
``environments/<env>/strategies/x.yaml`` (created when missing); a document of the
environment alone through its own file. Edits go through ruamel.yaml's round trip
(``yamlio.writer``): comments, quotes, key order and flow style of the file are kept and only
the edited lines change. A field set to the value the layers below now give is removed from
the file instead (it would only repeat them), and a key those layers do not have is deleted
rather than set to ``null``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qv_config.diff.compute import _same
from qv_config.promote.ops import MISSING, ByName, Op, Step

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot
    from qv_config.yamlio import LoadedDoc


@dataclass(frozen=True)
class Home:
    """The file that holds a document's own layer in one environment."""

    ref: str  # kind-slug/name
    path: str  # the file to edit (or create)
    doc: LoadedDoc | None  # None: an overlay that does not exist yet
    main: LoadedDoc  # the base document, or the document itself
    overlay: bool


def homes(snapshot: Snapshot, env: str, wanted: Collection[str] | None = None) -> dict[str, Home]:
    """The documents of ``env`` by ``kind-slug/name`` (those ``wanted``, or all), with the
    file that holds each one's layer. A document is looked for first in the files named after
    it (reading a document's kind and name decodes it: thousands cost ~0.1 s), then in all."""
    files = snapshot.environments.get(env)
    if files is None:
        return {}
    mains = [(path, base, files.overlays.get(path)) for path, base in snapshot.bases.items()]
    alone = [doc for path, doc in files.overlays.items() if path not in snapshot.bases]
    mains += [(doc.path, doc, None) for doc in [*files.documents.values(), *alone]]
    if wanted is not None:
        names = {ref.rsplit("/", 1)[-1] for ref in wanted}
        likely = [m for m in mains if _stem(m[0]) in names]
        found = _homes(snapshot, env, likely)
        if set(wanted) <= set(found):
            return found
    return _homes(snapshot, env, mains)


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _homes(
    snapshot: Snapshot, env: str, mains: list[tuple[str, LoadedDoc, LoadedDoc | None]]
) -> dict[str, Home]:
    from qv_config.render.inherit import cache_for

    cache = cache_for(snapshot)
    out: dict[str, Home] = {}
    for path, main, overlay in mains:
        ref = _ref(main, cache)
        if not ref or ref.startswith("environment/"):
            continue
        if path in snapshot.bases:
            out[ref] = Home(ref, f"environments/{env}/{path}", overlay, main, True)
        else:
            out[ref] = Home(ref, path, main, main, False)
    return out


def _ref(doc: LoadedDoc, cache: Any) -> str:
    """``kind-slug/name`` of a document, its kind maybe from its templates ("" when unknown)."""
    from qv_config.render.types import KIND_SLUGS

    data = doc.data if isinstance(doc.data, dict) else {}
    kind = data.get("kind") or _template_kind(doc, cache)
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str):
        return ""
    return f"{KIND_SLUGS.get(kind, kind.lower())}/{name}"


def _template_kind(doc: LoadedDoc, cache: Any) -> Any:
    from qv_config.render.inherit import InheritError

    try:
        names = cache.chain(doc)
    except InheritError:
        return None
    return cache.merged_chain(names).get("kind") if names else None


def lower_value(snapshot: Snapshot, home: Home) -> dict[str, Any]:
    """What the layers below the written one give (templates, and the base of an overlay),
    merged, before templating."""
    from qv_config.render.inherit import InheritError, body, cache_for
    from qv_config.render.merge import merge, merge_layers

    cache = cache_for(snapshot)
    try:
        names = cache.chain(home.main)
    except InheritError:
        return {}
    chain = cache.merged_chain(names) if names else {}
    if not home.overlay:
        return dict(chain)
    return merge(chain, body(home.main)) if names else merge_layers([body(home.main)])


def raw_value(snapshot: Snapshot, home: Home) -> dict[str, Any]:
    """The document as its layers give it, merged, before templating."""
    from qv_config.render.inherit import body
    from qv_config.render.merge import merge

    lower = lower_value(snapshot, home)
    if home.doc is None:
        return lower
    own = home.doc.data if home.overlay else body(home.doc)
    return merge(lower, own) if isinstance(own, dict) else lower


def templated_alike(old: Mapping[str, Any], new: Mapping[str, Any]) -> Callable[[Any], bool]:
    """Whether a field is the same template text in ``old`` and ``new`` (raw documents)."""

    def alike(path: Sequence[Step]) -> bool:
        before = _get(old, path)
        return (
            isinstance(before, str)
            and ("{{" in before or "{%" in before)
            and before == _get(new, path)
        )

    return alike


# -- round-trip edits ------------------------------------------------------------------------


def apply_ops(doc: Any, ops: Sequence[Op], lower: Mapping[str, Any]) -> None:
    """Apply ``ops`` to a round-trip document (``yamlio.writer.load_roundtrip``)."""
    for op in ops:
        below = _get(lower, op.path)
        if op.kind == "delete":
            if below is MISSING:
                _delete(doc, op.path)
            else:
                _set(doc, op.path, None)  # null deletes what a lower layer gives
        elif op.kind == "set" and below is not MISSING and _same(below, op.value):
            _delete(doc, op.path)  # the layers below give it already
        else:
            _set(doc, op.path, _replacing(op.value) if op.kind == "replace" else op.value)


def _get(value: Any, path: Sequence[Step]) -> Any:
    for step in path:
        if isinstance(step, ByName):
            items = value if isinstance(value, list) else []
            value = next((i for i in items if isinstance(i, dict) and i.get("name") == step.name),
                         MISSING)  # fmt: skip
        elif isinstance(value, dict):
            value = value.get(step, MISSING)
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _set(doc: Any, path: Sequence[Step], value: Any) -> None:
    parent = _walk(doc, path[:-1], create=True)
    last = path[-1]
    if isinstance(last, ByName):
        raise AssertionError("a whole list item is written through its list")  # ops never do
    parent[last] = value


def _walk(doc: Any, path: Sequence[Step], *, create: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = doc
    for index, step in enumerate(path):
        nxt = path[index + 1] if index + 1 < len(path) else None
        if isinstance(step, ByName):
            node = _item(node, step.name, create)
        else:
            if node.get(step) is None or not isinstance(node[step], dict | list):
                if not create:
                    return None
                node[step] = CommentedSeq() if isinstance(nxt, ByName) else CommentedMap()
            node = node[step]
        if node is None:
            return None
    return node


def _item(items: Any, name: str, create: bool) -> Any:
    from ruamel.yaml.comments import CommentedMap

    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    if not create:
        return None
    item = CommentedMap(name=name)
    items.append(item)
    return item


def _delete(doc: Any, path: Sequence[Step]) -> None:
    """Remove ``path``, and the mappings it leaves empty (an empty mapping changes nothing)."""
    parents = [doc]
    for step in path[:-1]:
        node = _walk(parents[-1], [step], create=False)
        if node is None:
            return
        parents.append(node)
    parent, last = parents[-1], path[-1]
    if isinstance(last, str) and isinstance(parent, dict) and last in parent:
        del parent[last]
    for depth in range(len(parents) - 1, 0, -1):
        step, node = path[depth - 1], parents[depth]
        if node or isinstance(step, ByName) or not isinstance(parents[depth - 1], dict):
            break
        del parents[depth - 1][step]


def _replacing(items: list[Any]) -> Any:
    """A list written whole, tagged ``!replace`` so that merging does not keep other items."""
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.tag import Tag

    seq = CommentedSeq(items)
    seq.yaml_set_ctag(Tag(suffix="!replace"))
    return seq
