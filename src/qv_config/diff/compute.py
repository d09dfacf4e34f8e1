"""Computing an ``EnvDiff`` from two sets of rendered documents.

Documents are matched by ``kind-slug/name`` so two environments compare like two revisions.
Name-keyed lists (every item a mapping with a ``name``, no name twice) are compared item by item
by name, the way the merge treats them, and their order apart: a reorder is a change of its own
("reordered"), since order is behaviour (an ExecutionPolicy's first matching rule wins). Other
lists compare whole. Two documents differ exactly when their canonical JSON does (a float's sign
included: ``0.0`` and ``-0.0`` are written, and hashed, differently).

Risk direction comes from ``x-qv-risk`` marks: raising a ``ceiling`` or lowering a ``floor``
loosens; removing a limit loosens, adding one tightens. A ranked field (``x-qv-risk-order``: a
lifecycle moving toward live, a later allocation stage, a kill switch enabled again) loosens by
moving up its order; ``diff.ranks`` places the values. Secret fields never carry their values
out of this module, unless the ``secret`` resolver reveals a changed one (``--decrypt``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from qv_config.diff.envspecific import Cover, EnvSpecific
from qv_config.diff.model import DocChange, EnvDiff, FieldChange, Op, Risk
from qv_config.diff.ranks import applies, rank, ranked
from qv_config.diff.secretdiff import (
    SECRET_CHANGED,
    SecretQuery,
    SecretResolver,
    Shown,
    is_ciphertext,
    without_key,
)
from qv_config.models.marks import RiskMark
from qv_config.yamlio.types import FieldPath

MarkLookup = Callable[[Mapping[str, Any], FieldPath], tuple[RiskMark | None, bool]]
"""(rendered document, concrete path) -> (risk mark or None, is_secret).

The document is passed (not only its kind) because a Config's marks come from its own schema."""

_HIDDEN = "(secret)"


def diff_documents(
    left: Mapping[str, Mapping[str, Any]],
    right: Mapping[str, Mapping[str, Any]],
    *,
    marks: MarkLookup,
    ignore: Sequence[FieldPath] | EnvSpecific = (),
    left_label: str = "left",
    right_label: str = "right",
    secret: SecretResolver = without_key,
) -> EnvDiff:
    """Diff documents keyed by ``kind-slug/name`` (values: rendered documents).

    ``secret`` decides, in one call for the whole diff, about secret fields whose values differ
    (``diff.secretdiff``): dropped when only the ciphertext changed, else labelled (or, when it
    returns ``Shown``, given its plaintexts). The default compares nothing it cannot see:
    differing ciphertext reads "(encrypted; no key to compare)".

    ``ignore``: field paths left out (``env_specific`` between two environments), the same for
    every document or, as ``EnvSpecific``, per kind.
    """
    walkers: dict[str, _Walker] = {}
    changes: list[DocChange] = []
    same_for_all = None if isinstance(ignore, EnvSpecific) else Cover(ignore)
    for ref in sorted(set(left) | set(right)):
        old, new = left.get(ref), right.get(ref)
        if old is None or new is None:
            changes.append(_whole(ref, old, new))
            continue
        skip = same_for_all or _cover(ignore, new)
        walker = _Walker(new, marks, skip if skip else None, ref, old)
        walker.walk((), old, new)
        if walker.out:
            walkers[ref] = walker
    _settle_secrets(walkers, secret)
    changes += [c for ref, w in walkers.items() if (c := _doc_change(ref, w)) is not None]
    changes.sort(key=lambda c: (not c.loosened, c.ref))
    return EnvDiff(left_label, right_label, tuple(changes))


def _whole(ref: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> DocChange:
    doc = new if new is not None else old
    assert doc is not None
    op: Op = "added" if old is None else "removed"
    return DocChange(ref, str(doc.get("kind", "")), ref.split("/", 1)[-1], op)


def _settle_secrets(walkers: Mapping[str, _Walker], secret: SecretResolver) -> None:
    """Label (or reveal) every changed secret field; drop it when only its ciphertext changed."""
    pending = [(w, i, q) for w in walkers.values() for i, q in w.secrets]
    if not pending:
        return
    labels = secret([q for _, _, q in pending])
    dropped: set[tuple[int, int]] = set()
    for (walker, index, _query), label in zip(pending, labels, strict=True):
        if label is None:
            dropped.add((id(walker), index))
        elif isinstance(label, Shown):
            walker.out[index] = replace(
                walker.out[index], old=label.old, new=label.new, note=SECRET_CHANGED, revealed=True
            )
        else:
            walker.out[index] = replace(walker.out[index], note=label)
    for walker in walkers.values():
        walker.out = [f for i, f in enumerate(walker.out) if (id(walker), i) not in dropped]
        walker.secrets = []


def _doc_change(ref: str, walker: _Walker) -> DocChange | None:
    fields = walker.out
    if not fields:
        return None
    fields.sort(key=lambda f: f.risk != "loosened")
    kind = str(walker.doc.get("kind", ""))
    return DocChange(ref, kind, ref.split("/", 1)[-1], "changed", tuple(fields))


def _cover(ignore: Sequence[FieldPath] | EnvSpecific, doc: Mapping[str, Any]) -> Cover | None:
    if isinstance(ignore, EnvSpecific):
        return ignore.cover(str(doc.get("kind", "")))
    return None


@dataclass
class _Walker:
    """Walks two versions of one document, collecting field changes."""

    doc: Mapping[str, Any]
    marks: MarkLookup
    ignore: Cover | None  # env-specific paths left out (None: none)
    ref: str = ""
    old_doc: Mapping[str, Any] = field(default_factory=dict)
    out: list[FieldChange] = field(default_factory=list)
    # Changed secret fields to settle (index into ``out``): their ciphertexts stay here only.
    secrets: list[tuple[int, SecretQuery]] = field(default_factory=list)
    # Concrete path of a name-keyed list item -> its name, for labels like "venues[lse]".
    names: dict[FieldPath, str] = field(default_factory=dict)

    def walk(self, path: FieldPath, old: Any, new: Any) -> None:
        if (self.ignore is not None and self.ignore(path)) or _same(old, new):
            return
        if _mapping(old) and _mapping(new):
            self.walk_mapping(path, old, new)
        elif _named_list(old) and _named_list(new):
            self.walk_named(path, old, new)
        else:
            change = _field_change(
                path, old, new, (self.old_doc, self.doc), self.marks, self.label(path)
            )
            if change.secret and change.op == "changed":
                self.secrets.append((len(self.out), SecretQuery(self.ref, path, old, new)))
            self.out.append(change)

    def walk_mapping(self, path: FieldPath, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        # Equal scalars (most fields of two similar documents) are passed over here, without a
        # call each: a diff of 10,000 documents meets ~50,000 of them. Most mappings have the
        # same keys on both sides: then no key list is made and no look-up misses.
        pairs = (
            ((key, before, new[key]) for key, before in old.items())
            if old.keys() == new.keys()
            else ((k, old.get(k, _MISSING), new.get(k, _MISSING)) for k in _ordered_keys(old, new))
        )
        for key, before, after in pairs:
            kind = type(before)
            if kind is type(after) and kind in _PLAIN and before == after:
                continue
            self.walk((*path, key), before, after)

    def walk_named(self, path: FieldPath, old: list[Any], new: list[Any]) -> None:
        # Paths stay concrete (index in the new list, or the old one when removed) so that mark
        # patterns ("stages.*.capital") match; labels show the item's name instead.
        old_by = {item["name"]: (i, item) for i, item in enumerate(old)}
        new_by = {item["name"]: (i, item) for i, item in enumerate(new)}
        before_order = [name for name in old_by if name in new_by]
        after_order = [name for name in new_by if name in old_by]
        if before_order != after_order:
            label = self.label(path)
            self.out.append(FieldChange(path, "reordered", before_order, after_order, label=label))
        for name in [*new_by, *(n for n in old_by if n not in new_by)]:
            index = new_by[name][0] if name in new_by else old_by[name][0]
            self.names[(*path, index)] = name
            before = old_by[name][1] if name in old_by else _MISSING
            after = new_by[name][1] if name in new_by else _MISSING
            self.walk((*path, index), before, after)

    def label(self, path: FieldPath) -> str:
        out: list[str] = []
        for i, part in enumerate(path):
            if isinstance(part, int):
                out.append(f"[{self.names.get(path[: i + 1], part)}]")
            else:
                out.append(f".{part}" if out else part)
        return "".join(out)


# Scalar types whose equality is canonical JSON's (floats are not: 0.0 == -0.0).
_PLAIN = frozenset((str, int, bool, type(None)))


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _same(old: Any, new: Any) -> bool:
    # 1 == 1.0 == True and 0.0 == -0.0 in Python, also inside containers; configuration (and its
    # canonical JSON, which the digest hashes) treats them as different values, so containers
    # compare by their canonical JSON (exact, and fast in C), floats by value and sign.
    kind = type(old)
    if kind is not type(new):
        return False
    if kind in _PLAIN:
        return bool(old == new)
    if isinstance(old, dict | list):
        # Python's equality is coarser than canonical JSON's (1 == 1.0): unequal is different,
        # and it stops at the first difference, where encoding both would not.
        if old != new:
            return False
        return bool(
            orjson.dumps(old, option=orjson.OPT_SORT_KEYS)
            == orjson.dumps(new, option=orjson.OPT_SORT_KEYS)
        )
    if isinstance(old, float):
        return old == new and math.copysign(1.0, old) == math.copysign(1.0, new)
    return bool(old == new)


def _mapping(value: Any) -> bool:
    # Rendered documents are plain dicts: the ABC check (~0.5 µs) only for anything else.
    return type(value) is dict or isinstance(value, Mapping)


def _ordered_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [*old, *(k for k in new if k not in old)]


def _named_list(value: Any) -> bool:
    """Every item a mapping with a text ``name``, no name twice (QV221 refuses a repeated name
    before any diff; a list that has one anyway compares whole, so that nothing is hidden)."""
    if not isinstance(value, list) or not value:
        return False
    names = {i.get("name") if isinstance(i, Mapping) else None for i in value}
    return len(names) == len(value) and all(isinstance(name, str) for name in names)


Docs = tuple[Mapping[str, Any], Mapping[str, Any]]  # (old, new) versions of one document


def _field_change(
    path: FieldPath, old: Any, new: Any, docs: Docs, marks: MarkLookup, label: str
) -> FieldChange:
    op: Op = "added" if old is _MISSING else "removed" if new is _MISSING else "changed"
    mark, secret = marks(docs[1], path)
    before = None if old is _MISSING else old
    after = None if new is _MISSING else new
    risk = _risk(mark, path, before, after, docs) if mark else None
    # A value the repository holds as ciphertext is a secret whatever the schema says (sops
    # encrypted it by .sops.yaml's encrypted_regex): compared by plaintext, never shown.
    if secret or _ciphertext(before) or _ciphertext(after):
        before = _HIDDEN if before is not None else None
        after = _HIDDEN if after is not None else None
        return FieldChange(path, op, before, after, risk, True, label)
    if op != "changed" and isinstance(before if after is None else after, dict | list):
        before, after = (_hidden(v, path, docs, marks) for v in (before, after))
    return FieldChange(path, op, before, after, risk, secret, label)


def _ciphertext(value: Any) -> bool:
    return type(value) is str and value.startswith("ENC[") and is_ciphertext(value)


def _hidden(value: Any, path: FieldPath, docs: Docs, marks: MarkLookup) -> Any:
    """An added or removed mapping or list with its secrets (ciphertext leaves, fields the
    schema marks) shown as ``(secret)`` and the rest as it is."""
    if _ciphertext(value) or (path and marks(docs[1], path)[1]):
        return _HIDDEN
    if isinstance(value, dict):
        return {k: _hidden(v, (*path, k), docs, marks) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v, (*path, i), docs, marks) for i, v in enumerate(value)]
    return value


def _risk(mark: RiskMark, path: FieldPath, old: Any, new: Any, docs: Docs) -> Risk | None:
    """Loosened or tightened, for a ceiling (raising loosens) or a floor (lowering loosens); a
    ranked value by its place in its order, each side's in its own document."""
    if not applies(mark, docs[1], path):
        return None
    if old is None or new is None:
        if ranked(mark):
            return None  # an absent lifecycle or stage is no rank at all
        # No limit is the loosest limit of all.
        return "loosened" if new is None else "tightened"
    a, b = rank(mark, old, docs[0], path), rank(mark, new, docs[1], path)
    if a is None or b is None or a == b:
        return None
    raised = b > a
    loosened = raised if mark.direction == "ceiling" else not raised
    return "loosened" if loosened else "tightened"
