"""Service schemas are JSON Schema 2020-12: each ``schema2020/<case>/`` holds a schema using one
2020-12 keyword, ``good/*.yaml`` specs it accepts and ``bad/*.yaml`` specs it rejects. Under
draft-07 rules (fastjsonschema) ``dependentRequired``, ``dependentSchemas``,
``unevaluatedProperties``, ``unevaluatedItems``, keywords beside ``$ref``, ``$dynamicRef`` and the
rest were silently ignored.

The python ``jsonschema`` package is the independent oracle: it must agree with each file's
folder (the fixtures themselves are right) and with qv, finding for finding: each of qv's
findings is at a field the oracle names or inside it (``items: false`` is reported at the extra
item by jsonschema-rs, at the array by the oracle), and each of the oracle's has one there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from tests.validate.conftest import make_doc, make_env

from qv_config.findings import dotted
from qv_config.validate.engine import validate_rendered
from qv_config.yamlio import load_bytes

FOLDER = Path(__file__).parent / "schema2020"
INVALID = sorted((Path(__file__).parent / "schema2020-invalid").glob("*.json"))
SCHEMA_PATH = "schemas/configs/svc.schema.json"
EXAMPLES = sorted(
    (case.name, verdict, example.name)
    for case in FOLDER.iterdir()
    for verdict in ("good", "bad")
    for example in (case / verdict).glob("*.yaml")
)


def _spec(case: str, verdict: str, name: str) -> Any:
    path = FOLDER / case / verdict / name
    return load_bytes(path.name, path.read_bytes()).data


def _oracle(schema: Any, spec: Any) -> set[str]:
    errors = Draft202012Validator(schema).iter_errors(spec)
    return {dotted(("spec", *error.absolute_path)) for error in errors}


def _qv(raw: bytes, spec: Any) -> set[str]:
    env = make_env("dev", make_doc("dev", "Config", "svc", spec))
    findings = validate_rendered([env], read=lambda path: raw if path == SCHEMA_PATH else None)
    assert not [f for f in findings if f.code == "QV311"]
    return {str(f.field) for f in findings if f.code == "QV310"}


@pytest.mark.parametrize(("case", "verdict", "name"), EXAMPLES)
def test_qv_agrees_with_the_2020_12_oracle(case: str, verdict: str, name: str) -> None:
    raw = (FOLDER / case / "schema.json").read_bytes()
    schema = json.loads(raw)
    Draft202012Validator.check_schema(schema)
    spec = _spec(case, verdict, name)
    expected = _oracle(schema, spec)
    assert bool(expected) == (verdict == "bad"), "the example is in the wrong folder"
    found = _qv(raw, spec)
    assert all(any(_within(path, where) for where in expected) for path in found), found
    assert all(any(_within(path, where) for path in found) for where in expected), found


def _within(path: str, where: str) -> bool:
    return path == where or path.startswith((f"{where}.", f"{where}["))


def test_every_case_has_good_and_bad_examples() -> None:
    for case in FOLDER.iterdir():
        assert list((case / "good").glob("*.yaml")), case.name
        assert list((case / "bad").glob("*.yaml")) or case.name == "format-annotation", case.name


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_a_schema_the_2020_12_metaschema_refuses_is_qv311(path: Path) -> None:
    raw = path.read_bytes()
    with pytest.raises(SchemaError):  # the oracle refuses it too (regexes checked as well)
        Draft202012Validator.check_schema(json.loads(raw))
    env = make_env("dev", make_doc("dev", "Config", "svc", {"port": 1}))
    findings = validate_rendered([env], read=lambda p: raw if p == SCHEMA_PATH else None)
    assert [(f.code, f.file) for f in findings if f.code.startswith("QV31")] == [
        ("QV311", SCHEMA_PATH)
    ]
