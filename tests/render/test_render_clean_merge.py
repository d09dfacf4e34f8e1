"""Merging takes a clean layer as it is: the walk that finds where a layer needs templating
(``templating.dynamic_paths``) also tells whether ``merge.fresh`` would change any part of it
(a null in a mapping, a ``!replace`` value). Where it would not, ``merge(..., clean=True)``
skips that walk; its result is the general merge's, object for object. The walk itself finds
what its first, plainer version found."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qv_config.render.merge import (
    fresh,
    is_name_keyed,
    is_name_keyed_any,
    list_names,
    merge,
    name_problems,
)
from qv_config.render.templating import Scan, dynamic_paths
from qv_config.yamlio import ReplaceDict, ReplaceList

_KEYS = st.sampled_from(["a", "b", "name", "spec", "x"])
_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["s", "{{ t }}"])
_NAMES = st.sampled_from(["p", "q", "r"])


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    named = st.lists(st.fixed_dictionaries({"name": _NAMES}, optional={"v": children}))
    return (
        st.dictionaries(_KEYS, children, max_size=4)
        | st.lists(children, max_size=3)
        | named
        | st.dictionaries(_KEYS, children, max_size=3).map(ReplaceDict)
        | st.lists(children, max_size=2).map(ReplaceList)
        | st.dictionaries(st.integers(0, 2), children, max_size=2)
    )


VALUES = st.recursive(_SCALARS, _containers, max_leaves=12)
LAYERS = st.dictionaries(_KEYS, VALUES, max_size=4)


def _containers_of(value: Any) -> set[int]:
    found: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            found.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


def _same_objects(a: Any, b: Any, inputs: set[int]) -> bool:
    """Equal, with the same types, sharing the same containers of the inputs."""
    if type(a) is not type(b) or a != b:
        return False
    if not isinstance(a, dict | list):
        return True
    if id(a) in inputs or id(b) in inputs:
        return a is b
    if isinstance(a, dict):
        pairs = zip(a.values(), b.values(), strict=True)
        return list(a) == list(b) and all(_same_objects(x, y, inputs) for x, y in pairs)
    return all(_same_objects(x, y, inputs) for x, y in zip(a, b, strict=True))


@given(LAYERS)
@settings(max_examples=300, deadline=None)
def test_a_clean_layer_is_its_own_fresh_value(layer: dict[str, Any]) -> None:
    scan = Scan()
    dynamic_paths(layer, scan)
    if not scan.unclean:
        assert fresh(layer) is layer


@given(LAYERS, LAYERS)
@settings(max_examples=300, deadline=None)
def test_merging_a_clean_layer_gives_the_general_merge(base: dict[str, Any], over: Any) -> None:
    # A name that is not text (QV222) stops rendering before any merge: such layers never meet.
    assume(
        not any(code == "QV222" for layer in (base, over) for _, code, _ in name_problems(layer))
    )
    base = fresh(base)
    scan = Scan()
    dynamic_paths(over, scan)
    inputs = _containers_of(base) | _containers_of(over)
    general = merge(base, over)
    assert _same_objects(merge(base, over, not scan.unclean), general, inputs)


def _reference_paths(value: Any, names: list[bool]) -> Any:
    """``dynamic_paths`` as it was written first: one call per value, names as a flag list."""
    if isinstance(value, str):
        return True if ("{{" in value or "{%" in value) else None
    if isinstance(value, float):
        return None if math.isfinite(value) else True
    if isinstance(value, list):
        if not names and is_name_keyed_any(value) and list_names(value, ()):
            names.append(True)
        found = [_reference_paths(item, names) for item in value]
        return True if any(sub is not None for sub in found) else None
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            return True
        sub = _reference_paths(item, names)
        if sub is not None:
            out[key] = sub
    return out or None


_ODD = st.sampled_from([math.nan, math.inf, 1.5, "{% x %}", "a{{ b }}c", True, False, 0])
ODD_LAYERS = st.dictionaries(_KEYS, st.recursive(_SCALARS | _ODD, _containers, max_leaves=12))


@given(ODD_LAYERS)
@settings(max_examples=400, deadline=None)
def test_the_scan_finds_what_the_first_walk_found(layer: dict[str, Any]) -> None:
    names: list[bool] = []
    scan = Scan()
    assert dynamic_paths(layer, scan) == _reference_paths(layer, names)
    assert scan.names == bool(names)
    assert is_name_keyed(layer.get("a")) == (
        type(layer.get("a")) is list
        and bool(layer["a"])
        and all(isinstance(item, dict) and "name" in item for item in layer["a"])
    )
