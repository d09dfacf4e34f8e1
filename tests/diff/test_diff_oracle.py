"""deepdiff as an independent oracle of `qv diff` (property tests, hypothesis).

For generated pairs of documents (nested mappings, plain lists, name-keyed lists, scalars of
every JSON type), the fields qv reports as changed are exactly the paths where deepdiff finds a
difference, mapped to qv's notation: `spec.a.b` for mapping keys, `spec.stages[canary]` for an
item of a name-keyed list (compared by name, as the merge treats them), and the whole list for
any other list (qv shows a plain list's old → new whole). deepdiff knows nothing of name-keyed
lists: each one is handed to it as a mapping from name to item, of its own type, so that a list
that stops being name-keyed is a type change at the list's path, as qv reports it. Their order is
a change of its own (`spec.rules (order)`): deepdiff compares, at each path where both sides hold
a name-keyed list, the names both share in each side's order (inside a plain list, such a
reorder changes the plain list, reported whole). Floats and booleans are handed
over as text of their exact value: deepdiff, like Python, holds 0.0 equal to -0.0 (canonical JSON
and the digest do not), and inside a list it matches items by hash, which is the same for 0 and
False.

A second property needs no oracle: qv reports no change for a document exactly when the two
canonical JSON encodings (what the digest hashes) are equal.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from qv_config.diff import diff_documents
from qv_config.render.canonical import canonical_json


class Named(dict[str, Any]):
    """A name-keyed list as deepdiff sees it: name -> item."""


class Boolean(str):
    """A boolean as deepdiff sees it: Python's False == 0 (and hashes alike), so deepdiff finds
    no change from [False, 0] to [0, False]; JSON's false and 0 differ, and so does qv."""


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in value)
        and len({i["name"] for i in value}) == len(value)
    )


def _for_oracle(value: Any) -> Any:
    if isinstance(value, bool):
        return Boolean(value)
    if isinstance(value, dict):
        return {key: _for_oracle(item) for key, item in value.items()}
    if _named_list(value):
        return Named({item["name"]: _for_oracle(item) for item in value})
    if isinstance(value, list):
        return [_for_oracle(item) for item in value]
    if isinstance(value, bool | float):
        return f"{type(value).__name__}:{value!r}"  # the generated strings never start so
    return value


def _label(path: list[Any], new: Any, old: Any) -> tuple[str, str]:
    """(document ref, qv label) of a deepdiff path; plain lists end the path (compared whole)."""
    ref, rest = path[0], path[1:]
    nodes = [new.get(ref), old.get(ref)]
    out = ""
    for step in rest:
        if any(isinstance(node, list) for node in nodes):
            break  # inside a plain list: qv reports the list
        named = any(isinstance(node, Named) for node in nodes)
        out += f"[{step}]" if named else (f".{step}" if out else str(step))
        nodes = [node.get(step) if isinstance(node, dict) else None for node in nodes]
    return ref, out


def oracle(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str]]:
    left, right = _for_oracle(old), _for_oracle(new)
    # threshold 0: always itemise mappings (deepdiff 8 reports a mostly-new mapping whole)
    tree = DeepDiff(left, right, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    found = {
        _label(item.path(output_format="list"), right, left)
        for items in tree.values()
        for item in items
    }
    for path, order in _reordered(left, right, []):
        ref, label = _label(path, right, left)
        found.add((ref, f"{label} (order)" if order else label))
    return found


def _reordered(old: Any, new: Any, path: list[Any]) -> list[tuple[list[Any], bool]]:
    """Paths where both sides hold a name-keyed list whose shared names are in another order
    (True), and plain lists holding such a reorder somewhere inside (False: qv reports the
    plain list whole, its canonical JSON differs; deepdiff compares the names as a mapping)."""
    if isinstance(old, Named) and isinstance(new, Named):
        shared_old = [name for name in old if name in new]
        shared_new = [name for name in new if name in old]
        moved = [(path, True)] if DeepDiff(shared_old, shared_new) else []
        return moved + [p for n in shared_new for p in _reordered(old[n], new[n], [*path, n])]
    if isinstance(old, dict) and isinstance(new, dict) and type(old) is type(new):
        shared = [key for key in old if key in new]
        return [p for key in shared for p in _reordered(old[key], new[key], [*path, key])]
    if isinstance(old, list) and isinstance(new, list):
        pairs = enumerate(zip(old, new, strict=False))
        inner = [p for i, (a, b) in pairs for p in _reordered(a, b, [*path, i])]
        return [(path, False)] if inner else []
    return []


def qv_paths(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str]]:
    result = diff_documents(old, new, marks=lambda _doc, _path: (None, False))
    out: set[tuple[str, str]] = set()
    for change in result.changes:
        if change.op != "changed":
            out.add((change.ref, ""))
        out |= {(change.ref, _qv_label(field)) for field in change.fields}
    return out


def _qv_label(field: Any) -> str:
    return f"{field.field} (order)" if field.op == "reordered" else str(field.field)


# ------------------------------------------------------------------ generated documents

_KEYS = st.sampled_from(["a", "b", "c", "limits", "venues", "port"])  # never "name"
_NAMES = st.sampled_from(["paper", "canary", "full", "eu", "us"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.integers(min_value=-3, max_value=3)  # equal values across the two sides, often
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 1, True, "", "x", "1"])
    | st.text(alphabet="xyz 1.", max_size=4)
)


def _values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        mapping = st.dictionaries(_KEYS, inner, max_size=4)
        named = st.dictionaries(_NAMES, mapping, min_size=1, max_size=4).map(
            lambda items: [{"name": name, **body} for name, body in items.items()]
        )
        return mapping | named | st.lists(inner, max_size=3)

    return st.recursive(leaves, extend, max_leaves=12)


_SPECS = st.dictionaries(_KEYS, _values(_SCALARS), max_size=4)


def _doc(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "qv/v1", "kind": "Config", "metadata": {"name": "svc"}, "spec": spec}


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two states of a few documents; the second often an edit of the first."""
    old = {f"config/svc-{i}": _doc(draw(_SPECS)) for i in range(draw(st.integers(0, 2)))}
    new = {}
    for ref, doc in old.items():
        choice = draw(st.sampled_from(["same", "edit", "new", "drop"]))
        if choice == "same":
            new[ref] = doc
        elif choice == "edit":
            new[ref] = _doc(_edited(draw, doc["spec"]))
        elif choice == "new":
            new[ref] = _doc(draw(_SPECS))
    if draw(st.booleans()):
        new["config/added"] = _doc(draw(_SPECS))
    return old, new


def _edited(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with a few changes deep inside (random pairs rarely share structure)."""
    if isinstance(value, dict):
        out = {key: _edited(draw, item) for key, item in value.items()}
        if draw(st.integers(0, 5)) == 0:
            out[draw(_KEYS)] = draw(_values(_SCALARS))
        return out
    if isinstance(value, list):
        items = [_edited(draw, item) for item in value]
        if items and draw(st.integers(0, 3)) == 0:
            items.reverse()  # a name-keyed list in another order: its items by name, and order
        return items
    if isinstance(value, float) and draw(st.integers(0, 5)) == 0:
        return -value  # 0.0 -> -0.0 among them
    return draw(_SCALARS) if draw(st.integers(0, 3)) == 0 else value


@given(_pairs())
@settings(max_examples=400, deadline=None)
def test_qv_diff_reports_the_paths_deepdiff_finds(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    old, new = pair
    expected = oracle(old, new)
    event(f"changed fields: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    assert qv_paths(old, new) == expected


_RULES = [{"name": n, "algorithm": "twap"} for n in ("a", "b", "c")]
HAND_MADE = {
    "by-name": (
        {"stages": [{"name": "paper", "cap": 0}, {"name": "full", "cap": 1}]},
        {"stages": [{"name": "full", "cap": 2}, {"name": "canary"}], "v": [1]},
        {"spec.stages[full].cap", "spec.stages[paper]", "spec.stages[canary]", "spec.v"},
    ),
    "reorder": (
        {"rules": _RULES, "x": 0.0},
        {"rules": [_RULES[2], {**_RULES[0], "algorithm": "vwap"}, _RULES[1], {"name": "d"}]}
        | {"x": -0.0},
        {"spec.rules (order)", "spec.rules[a].algorithm", "spec.rules[d]", "spec.x"},
    ),
    "reorder inside a plain list": (  # found by hypothesis: the plain list is what changed
        {"limits": [[{"name": "paper"}, {"name": "full", "a": 0.0}]]},
        {"limits": [[{"name": "full", "a": 0.0}, {"name": "paper"}]]},
        {"spec.limits"},
    ),
}


@pytest.mark.parametrize("case", sorted(HAND_MADE))
def test_oracle_maps_paths_as_qv_labels_them(case: str) -> None:
    """The mapping of paths itself, on hand-made cases: names, and order apart from items."""
    old_spec, new_spec, labels = HAND_MADE[case]
    old, new = {"config/s": _doc(old_spec)}, {"config/s": _doc(new_spec)}
    expected = {("config/s", label) for label in labels}
    assert oracle(old, new) == expected
    assert qv_paths(old, new) == expected


def test_a_reorder_lists_the_names_in_each_sides_order() -> None:
    old_spec, new_spec, _ = HAND_MADE["reorder"]
    old, new = {"config/s": _doc(old_spec)}, {"config/s": _doc(new_spec)}
    (change,) = diff_documents(old, new, marks=lambda _doc, _path: (None, False)).changes
    order = next(field for field in change.fields if field.op == "reordered")
    assert (order.old, order.new) == (["a", "b", "c"], ["c", "a", "b"])


def _subtle(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with edits Python's ``==`` misses or that only move things: keys in another
    order (no change), lists reversed, a float's sign, 1 <-> 1.0 <-> True."""
    if isinstance(value, dict):
        items = [(key, _subtle(draw, item)) for key, item in value.items()]
        return dict(reversed(items) if draw(st.booleans()) else items)
    if isinstance(value, list):
        items = [_subtle(draw, item) for item in value]
        return items[::-1] if draw(st.integers(0, 2)) == 0 else items
    if draw(st.integers(0, 2)):
        return value
    if isinstance(value, float):
        exact = value.is_integer() and abs(value) < 2**53
        return int(value) if exact and draw(st.booleans()) else -value
    if isinstance(value, bool | int) and -3 <= value <= 3:
        return float(value) if draw(st.booleans()) else bool(value)
    return value


@st.composite
def _subtle_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    old = {f"config/svc-{i}": _doc(draw(_SPECS)) for i in range(draw(st.integers(1, 2)))}
    return old, {ref: _doc(_subtle(draw, doc["spec"])) for ref, doc in old.items()}


@given(_pairs() | _subtle_pairs())
@settings(max_examples=400, deadline=None)
def test_no_change_exactly_when_the_canonical_json_is_equal(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """What the digest hashes and what qv diff shows never disagree, for any value."""
    old, new = pair
    changed = {c.ref for c in diff_documents(old, new, marks=lambda _d, _p: (None, False)).changes}
    for ref in set(old) | set(new):
        before, after = old.get(ref), new.get(ref)
        same = before is not None and after is not None
        same = same and canonical_json(before) == canonical_json(after)
        event("equal" if same else "different")
        assert (ref not in changed) == same, ref


def test_a_float_keeps_its_sign() -> None:
    assert math.copysign(1.0, -0.0) < 0  # the case the property covers, named
    old = {"config/s": _doc({"x": 0.0, "y": [0.0]})}
    new = {"config/s": _doc({"x": -0.0, "y": [-0.0]})}
    assert canonical_json(old["config/s"]) != canonical_json(new["config/s"])
    assert qv_paths(old, new) == {("config/s", "spec.x"), ("config/s", "spec.y")}


# ------------------------------------------------------------------ end to end: git, render, CLI

_E2E_SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1, "", "x", "no", "1e3"])
    | st.text(alphabet="xyz 1.", max_size=4)
)
_E2E_SPECS = st.dictionaries(_KEYS, _values(_E2E_SCALARS), max_size=4)


def _write(root: Path, spec: dict[str, Any]) -> None:
    doc = {**_doc(spec), "metadata": {"name": "oracle", "owner": "t"}}
    (root / "environments/dev/configs/oracle.yaml").write_text(json.dumps(doc) + "\n")


def _rendered(qv: Any, root: Path, rev: str) -> dict[str, Any]:
    run = qv(root, "render", "--env", "dev", "--rev", rev, "--format", "json")
    assert run.code == 0, run.err
    return {key.split("/", 1)[1]: doc for key, doc in json.loads(run.out).items()}


def _json_label(field: dict[str, Any]) -> str:
    return f"{field['path']} (order)" if field.get("op") == "reordered" else str(field["path"])


@given(st.tuples(_E2E_SPECS, _E2E_SPECS))
@example(
    specs=(
        {"v": {"l": [{"name": "a"}, {"name": "b"}]}},
        {"v": {"l": [{"name": "b"}, {"name": "a"}]}},
    )
)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_qv_diff_end_to_end_agrees_with_deepdiff(
    repo: Any, qv: Any, specs: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Two commits of a Config document; `qv diff dev@A dev@B --format json` against deepdiff
    over what `qv render` gives for each commit."""
    root = repo.root
    for spec in specs:
        _write(root, spec)
        repo.git("add", "-A")
        repo.git("commit", "-q", "--allow-empty", "-m", "oracle")
    run = qv(root, "diff", "dev@HEAD~1", "dev@HEAD", "--format", "json")
    assert run.code == 0, run.err
    got = {
        (change["ref"], _json_label(field)) if change["op"] == "changed" else (change["ref"], "")
        for change in json.loads(run.out)["changes"]
        for field in change.get("fields") or [{"path": ""}]
    }
    expected = oracle(_rendered(qv, root, "HEAD~1"), _rendered(qv, root, "HEAD"))
    event(f"changed fields: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    assert got == expected
