"""What validates deploys: a value canonical JSON cannot hold is QV408 at its file:line:col.

Before, each of these validated cleanly and then `sync`, `drift` and `render --format json`
failed (a big integer, deep nesting, a surrogate), crashed (`RecursionError`) or silently wrote
``null`` for NaN/Infinity. The property tests below check the class: whatever renders without
findings encodes with the very function the desired state uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qv_config.render import desired_state, render_environment
from qv_config.render.canonical import MAX_DEPTH, NotDeployable, canonical_json, first_problem
from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.scaffold import write_starter

# Extra variables for the starter's dev environment (qv init: a tree that validates).
VARS = "word_nan: nan, word_inf: -inf, word: w, capital: 1000, "
FILE = "environments/dev/configs/weird.yaml"
DEEP = "[" * 260 + "]" * 260

# (label, value as written after "  v: ", field of the finding, column of the finding)
CASES: list[tuple[str, str, str, int]] = [
    ("int above u64, literal", "18446744073709551616", "spec.v", 6),
    ("int below i64, literal", "-9223372036854775809", "spec.v", 6),
    ("int above u64, nested literal", "{x: [1, 18446744073709551616]}", "spec.v.x[1]", 14),
    ("int, templated", '"{{ 2**70 }}"', "spec.v", 6),
    ("negative int, templated", '"{{ -(2**64) }}"', "spec.v", 6),
    ("NaN inside a templated list", '"{{ [1, env.vars.word_nan|float] }}"', "spec.v[1]", 6),
    ("-Infinity inside a templated map", "\"{{ {'a': env.vars.word_inf|float} }}\"", "spec.v.a", 6),
    ("nesting beyond orjson's bound, literal", DEEP, "spec.v[0][0]", 8),
    (
        "surrogate in text, templated",
        "\"{{ env.vars.word|replace('w', '\\\\ud800') }}\"",
        "spec.v",
        6,
    ),
    ("surrogate in a key, templated", "\"{{ {env.vars.word ~ '\\\\udfff': 1} }}\"", "spec.v", 6),
    # Keys a template makes that are not text: before, str() renamed them ("True", "None") and
    # merged 1.0 with '1.0', silently (repro-7); written in YAML they are QV110.
    (
        "boolean key, templated (true and 1: one key)",
        "\"{{ {true: 'on', 1: 'one'} }}\"",
        "spec.v",
        6,
    ),
    ("null key, templated", '"{{ {none: 1} }}"', "spec.v", 6),
    ("number key beside its text, templated", "\"{{ {1.0: 'f', '1.0': 't'} }}\"", "spec.v", 6),
    ("number key in a templated map's map", "\"{{ {'x': {2: 'two'} } }}\"", "spec.v.x", 6),
]


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """tree(files): the starter tree (qv init) plus ``files``, in one folder per test."""
    root = tmp_path / "repo"
    write_starter(root)
    env_file = root / "environments/dev/environment.yaml"
    env_file.write_text(env_file.read_text().replace("vars: {", "vars: {" + VARS, 1))

    def build(files: dict[str, str]) -> Path:
        for rel, text in files.items():
            (root / rel).write_text(text)
        return root

    return build


def _case_tree(tree: Any, value: str) -> Path:
    doc = (
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: weird, owner: x}\n"
        f"spec:\n  a: 1\n  v: {value}\n"
    )
    return tree({FILE: doc})  # type: ignore[no-any-return]


@pytest.mark.parametrize(("label", "value", "field", "col"), CASES, ids=[c[0] for c in CASES])
def test_undeployable_value_is_qv408_at_its_line(
    tree: Any, qv: Any, label: str, value: str, field: str, col: int
) -> None:
    root = _case_tree(tree, value)
    run = qv(root, "validate", "--env", "dev", "--format", "json")
    assert run.code == 1, label
    found = json.loads(run.out)["findings"]
    assert [f["code"] for f in found] == ["QV408"], run.out
    assert (found[0]["file"], found[0]["line"], found[0]["col"]) == (FILE, 6, col)
    assert found[0]["field"].startswith(field)
    # Clean JSON for tools: a surrogate never reaches the report (it would not encode).
    assert "\ud800" not in run.out


def test_render_json_of_such_a_state_is_a_located_error(tree: Any, qv: Any) -> None:
    root = _case_tree(tree, '"{{ 2**70 }}"')
    run = qv(root, "render", "--env", "dev", "--format", "json")
    assert run.code == 1
    assert f"{FILE}:6:6: QV408" in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    "value",
    ['"{{ 2**70 }}"', '"{{ [env.vars.word_nan|float] }}"', DEEP],
    ids=["int", "nan", "deep"],
)
def test_sync_drift_and_diff_refuse_it_cleanly(
    tree: Any, qv: Any, git_repo: Any, value: str
) -> None:
    root = _case_tree(tree, "1")
    git = git_repo(root)
    git.commit("deployable")
    assert qv(root, "sync", "--env", "dev").code == 0
    _case_tree(tree, value)
    git.commit("not deployable")
    sync = qv(root, "sync", "--env", "dev")
    assert sync.code == 1
    assert "QV408" in sync.err
    assert "nothing was applied" in sync.err
    history = json.loads(qv(root, "history", "--env", "dev", "--format", "json").out)
    assert [entry["action"] for entry in history] == ["apply"]
    drift = qv(root, "drift", "--env", "dev")  # renders without validating first
    assert drift.code == 1
    assert f"{FILE}:6:" in drift.err
    assert "cannot be written as canonical JSON" in drift.err
    diff = qv(root, "diff", "dev@HEAD~1", "dev@HEAD")
    assert diff.code == 1
    assert "QV408" in diff.err


def test_desired_state_refuses_a_rendered_env_that_left_a_document_out(tree: Any) -> None:
    """Leaving the document out would delete it from the store: the whole state is refused."""
    from qv_config.errors import CheckFailed

    root = _case_tree(tree, '"{{ 2**70 }}"')
    rendered = render_environment(load_snapshot(WorkTreeSource(root)), "dev")
    assert "dev/config/weird" not in rendered.docs
    with pytest.raises(CheckFailed, match=r"weird\.yaml:6:6: QV408"):
        desired_state(rendered)


# ------------------------------------------------------------------ the encoder and its check


def test_depth_bound_is_orjson_s() -> None:
    def nested(depth: int) -> Any:
        value: Any = 1
        for _ in range(depth):
            value = [value]
        return value

    assert canonical_json(nested(MAX_DEPTH)) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    with pytest.raises(NotDeployable, match="nesting deeper than 254"):
        canonical_json(nested(MAX_DEPTH + 1))


def test_huge_integer_is_named_by_its_size() -> None:
    with pytest.raises(NotDeployable, match="of 3011 digits"):
        canonical_json({"a": [10**3010]})


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=6)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(_VALUES)
@settings(max_examples=400, deadline=None)
def test_encoder_and_check_agree(value: Any) -> None:
    """The check names a problem exactly when canonical JSON cannot hold the value faithfully;
    otherwise the bytes read back as the same value."""
    problem = first_problem(value)
    if problem is None:
        assert _same(orjson.loads(canonical_json(value)), value)
    else:
        with pytest.raises(NotDeployable) as caught:
            canonical_json(value)
        assert (caught.value.path, caught.value.message) == problem


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, float):
        return isinstance(a, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


# Values as YAML/template text: literal numbers of any size, NaN/Infinity, templated values.
_LEAF_TEXT = st.one_of(
    st.integers(min_value=-(2**66), max_value=2**66).map(str),
    st.sampled_from([".nan", ".inf", "-.inf", "1.5", "true", "~", "x"]),
    st.sampled_from(
        [
            '"{{ 2**64 }}"',
            '"{{ 2**63 }}"',
            '"{{ -(2**63) - 1 }}"',
            '"{{ [env.vars.word_nan|float] }}"',
            "\"{{ {'k': env.vars.word_inf|float} }}\"",
            "\"{{ env.vars.word|replace('w', '\\\\ud800') }}\"",
            '"{{ env.vars.capital * 2 }}"',
            '"{{ [1, 2] }}"',
        ]
    ),
)
_TEXT_VALUES = st.recursive(
    _LEAF_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
        | st.lists(inner, max_size=3).map(
            lambda items: "{" + ", ".join(f"k{i}: {v}" for i, v in enumerate(items)) + "}"
        )
    ),
    max_leaves=8,
)


@given(st.lists(_TEXT_VALUES, min_size=1, max_size=3))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_whatever_validates_encodes_with_the_desired_state_encoder(
    tree: Any, values: list[str]
) -> None:
    from qv_config.validate import validate

    fields = "".join(f"  f{i}: {text}\n" for i, text in enumerate(values))
    root = tree(
        {FILE: f"apiVersion: qv/v1\nkind: Config\nmetadata: {{name: weird}}\nspec:\n{fields}"}
    )
    snapshot = load_snapshot(WorkTreeSource(root))
    result = validate(snapshot, ["dev"], use_cache=False)
    rendered = render_environment(snapshot, "dev")
    event(f"validates: {result.ok}")
    if result.ok:
        desired = desired_state(rendered)  # what sync writes: must not raise
        assert "dev/config/weird" in desired
    else:
        assert any(f.file == FILE for f in result.findings if f.is_error)


def test_the_desired_state_takes_the_json_rendering_made(tree: Any) -> None:
    """Rendering keeps the canonical JSON it checked; ``canonical`` hands it out as it is, and
    it is what encoding the value again gives. A copy with other data has none of it."""
    from dataclasses import replace

    from qv_config.render.desired import canonical

    root = _case_tree(tree, "{x: [1, 2], y: 'ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]'}")
    rendered = render_environment(load_snapshot(WorkTreeSource(root)), "dev")
    assert rendered.docs
    for doc in rendered.docs.values():
        assert doc.json == canonical_json(doc.data)
        assert canonical(doc) is doc.json
        assert canonical(doc, indent=True) == orjson.dumps(
            doc.data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2
        )
        other = replace(doc, data={**doc.data, "extra": 1})
        assert other.json is None
        assert canonical(other) == canonical_json(other.data)
