"""Merge rules of SPEC §3.3, copy-on-write.

Layer values come from cached ``LoadedDoc.data`` trees that are shared between snapshots and
environments, so nothing here mutates an input: a container is copied only when something under
it changes, and untouched subtrees are shared by reference between the layers and the result.
Consumers of rendered data must therefore treat it as read-only.
"""

from __future__ import annotations

from typing import Any

from qv_config.yamlio import ReplaceDict, ReplaceList
from qv_config.yamlio.types import FieldPath


def is_name_keyed(value: Any) -> bool:
    """A non-empty list whose items are all mappings holding a ``name`` key."""
    return type(value) is list and is_name_keyed_any(value)


NameProblem = tuple[FieldPath, str, str]  # (path, code, message)


def is_name_keyed_any(value: list[Any]) -> bool:
    """``is_name_keyed`` for any list, ``!replace`` ones too (later layers merge into them)."""
    for item in value:  # a loop, not all() over a generator: this runs on every list rendered
        if not (isinstance(item, dict) and "name" in item):
            return False
    return bool(value)


def name_problems(value: Any, path: FieldPath = ()) -> list[NameProblem]:
    """Name-keyed lists in ``value`` whose names repeat (QV221) or are not text (QV222).

    Items merge by name: of two items with one name, later layers and ``qv diff`` would see only
    one, so a change to the other would be invisible. Any list counts (``!replace`` ones too:
    their result is merged into by later layers)."""
    out: list[NameProblem] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                out += name_problems(item, (*path, key))
    elif isinstance(value, list):
        if is_name_keyed_any(value):
            out += list_names(value, path)
        for pos, item in enumerate(value):
            if isinstance(item, dict | list):
                out += name_problems(item, (*path, pos))
    return out


# A secret (ciphertext to validation, ``Plaintext`` to sync) cannot be a name: merging by it would
# differ between the two, and a finding about a repeated name would quote it.
_CIPHERTEXT = "ENC[AES256_GCM,"


def _not_text(name: Any) -> str:
    if isinstance(name, str):  # ``yamlio.Plaintext`` or ciphertext
        return "this item's name is a secret: items merge by name, which must be plain text"
    kind = type(name).__name__
    return f"this item's name is {kind}, not text: items merge by name; quote it"


def list_names(items: list[Any], path: FieldPath) -> list[NameProblem]:
    """The problems of one name-keyed list's names (not of lists inside its items)."""
    out: list[NameProblem] = []
    seen: set[str] = set()
    for pos, item in enumerate(items):
        name = item["name"]
        if type(name) is not str or name.startswith(_CIPHERTEXT):
            out.append(((*path, pos, "name"), "QV222", _not_text(name)))
            continue
        if name in seen:
            message = (
                f"name {name[:60]!r} is used by an earlier item of this list: items merge by "
                "name, so one would hide the other; rename or remove one"
            )
            out.append(((*path, pos), "QV221", message))
        seen.add(name)
    return out


def fresh(value: Any) -> Any:
    """``value`` as result data: no ``null`` keys, no ``!replace`` wrappers.

    Returns the very same object when it is already clean (the common case), so a clean layer
    costs one walk and no allocation.
    """
    if isinstance(value, dict):
        return _fresh_dict(value)
    if isinstance(value, list):
        return _fresh_list(value)
    return value


def _fresh_dict(value: dict[str, Any]) -> dict[str, Any]:
    changed = type(value) is not dict
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            changed = (
                True  # null means "delete": in a first/replacing layer there is nothing to delete
            )
            continue
        kind = type(item)
        if kind is str or kind is int or kind is float or kind is bool:
            out[key] = item  # a scalar is its own fresh value: no call for each
            continue
        new = fresh(item)
        changed = changed or new is not item
        out[key] = new
    return out if changed else value


def _fresh_list(value: list[Any]) -> list[Any]:
    changed = type(value) is not list
    out = []
    for item in value:
        new = fresh(item)
        changed = changed or new is not item
        out.append(new)
    return out if changed else value


def merge(base: Any, over: Any, clean: bool = False) -> Any:
    """The value of a later layer ``over`` applied on top of the result value ``base``.

    ``clean``: every part of ``over`` is result data as it is (no null in a mapping, no
    ``!replace``: ``templating.Scan``), so what it adds is taken without a walk of ``fresh``."""
    kind = type(over)  # exact type checks first: this is the hot path of rendering
    if kind is dict:
        if type(base) is dict:
            return merge_dicts(base, over, clean)
        return over if clean else fresh(over)
    if kind is list:
        if is_name_keyed(over) and is_name_keyed(base):
            return _merge_named(base, over, clean)
        return over if clean else fresh(over)
    if kind is ReplaceDict or kind is ReplaceList:
        return fresh(over)
    return over  # a scalar replaces


def merge_dicts(base: dict[str, Any], over: dict[str, Any], clean: bool = False) -> dict[str, Any]:
    out = dict(base)  # shallow: only this level is copied; children are shared or merged anew
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
            continue
        kind = type(value)
        if (
            kind is not dict
            and kind is not list
            and kind is not ReplaceDict
            and kind is not ReplaceList
        ):
            out[key] = value  # scalar: replaces whatever was there
        elif key in out:
            out[key] = merge(out[key], value, clean)
        else:
            out[key] = value if clean else fresh(value)
    return out


def _merge_named(base: list[Any], over: list[Any], clean: bool) -> list[Any]:
    out = list(base)
    index = {item["name"]: pos for pos, item in enumerate(base)}
    for item in over:
        pos = index.get(item["name"])
        if pos is None:
            index[item["name"]] = len(out)
            out.append(item if clean else fresh(item))
        else:
            out[pos] = merge(out[pos], item, clean)
    return out


def merge_layers(values: list[Any]) -> dict[str, Any]:
    """Fold layer values in order; the first must be a mapping (checked by the caller)."""
    result: dict[str, Any] = fresh(values[0])
    for value in values[1:]:
        result = merge(result, value)
    return result
