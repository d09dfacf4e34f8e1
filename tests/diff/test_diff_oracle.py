"""deepdiff as an independent oracle of `qv diff` (property tests, hypothesis).

For generated pairs of documents (nested mappings, plain lists, name-keyed lists, scalars of
every JSON type), the fields qv reports as changed are exactly the paths where deepdiff finds a
difference, mapped to qv's notation: `spec.a.b` for mapping keys, `spec.stages[canary]` for an
item of a name-keyed list (compared by name, as the merge treats them), and the whole list for
any other list (qv shows a plain list's old → new whole). deepdiff knows nothing of name-keyed
lists: each one is handed to it as a mapping from name to item, of its own type, so that a list
that stops being name-keyed is a type change at the list's path, as qv reports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qv_config.diff import diff_documents


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
    return {
        _label(item.path(output_format="list"), right, left)
        for items in tree.values()
        for item in items
    }


def qv_paths(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str]]:
    result = diff_documents(old, new, marks=lambda _doc, _path: (None, False))
    out: set[tuple[str, str]] = set()
    for change in result.changes:
        if change.op != "changed":
            out.add((change.ref, ""))
        out |= {(change.ref, field.field) for field in change.fields}
    return out


# ------------------------------------------------------------------ generated documents

_KEYS = st.sampled_from(["a", "b", "c", "limits", "venues", "port"])  # never "name"
_NAMES = st.sampled_from(["paper", "canary", "full", "eu", "us"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.integers(min_value=-3, max_value=3)  # equal values across the two sides, often
    | st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x + 0.0)  # no -0.0
    | st.sampled_from([0.0, 1.0, 1, True, "", "x", "1"])
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
            items.reverse()  # a name-keyed list in another order: qv compares by name
        return items
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


def test_oracle_sees_what_qv_labels_by_name() -> None:
    """The mapping of paths itself, on one hand-made case."""
    old = {"config/s": _doc({"stages": [{"name": "paper", "cap": 0}, {"name": "full", "cap": 1}]})}
    new = {"config/s": _doc({"stages": [{"name": "full", "cap": 2}, {"name": "canary"}], "v": [1]})}
    expected = {
        ("config/s", "spec.stages[full].cap"),
        ("config/s", "spec.stages[paper]"),
        ("config/s", "spec.stages[canary]"),
        ("config/s", "spec.v"),
    }
    assert oracle(old, new) == expected
    assert qv_paths(old, new) == expected


# ------------------------------------------------------------------ end to end: git, render, CLI

_E2E_SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x + 0.0)
    | st.sampled_from([0.0, 1, "", "x", "no", "1e3"])
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


@given(st.tuples(_E2E_SPECS, _E2E_SPECS))
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
        (change["ref"], field["path"]) if change["op"] == "changed" else (change["ref"], "")
        for change in json.loads(run.out)["changes"]
        for field in change.get("fields") or [{"path": ""}]
    }
    expected = oracle(_rendered(qv, root, "HEAD~1"), _rendered(qv, root, "HEAD"))
    event(f"changed fields: {min(len(expected), 3)}{'+' if len(expected) >= 3 else ''}")
    assert got == expected
