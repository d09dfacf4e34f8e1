"""The committed schemas/qv/*.schema.json equal what the models export, and are valid schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from qv_config.models import export_schemas, json_schemas, stale_files
from qv_config.models.schema import expected_files
from qv_config.yamlio import load_bytes

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schemas" / "qv"
SLUGS = [
    "approval-policy", "config", "environment", "execution-policy", "flag", "project",
    "risk-policy", "strategy",
]  # fmt: skip


def test_committed_schemas_are_in_sync_with_the_models() -> None:
    stale = stale_files(COMMITTED)
    assert not stale, f"{', '.join(p.name for p in stale)} out of date: run `qv schema export`"


def test_export_writes_every_slug_deterministically(tmp_path: Path) -> None:
    written = export_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == [f"{s}.schema.json" for s in SLUGS]
    first = {p.name: p.read_bytes() for p in written}
    export_schemas(tmp_path / "out")
    assert {p.name: p.read_bytes() for p in written} == first
    text = first["strategy.schema.json"].decode()
    assert text.endswith("}\n")
    assert '\n  "$id"' in text
    assert json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n" == text


@pytest.mark.parametrize("slug", SLUGS)
def test_schema_header_and_validity(slug: str) -> None:
    schema = json_schemas()[slug]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://schemas.quantivista.dev/qv/{slug}.schema.json"
    assert schema["title"]
    assert schema["description"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_good_examples_also_pass_the_exported_json_schemas() -> None:
    # The JSON Schemas are what editors and check-jsonschema see: they must agree with the models.
    schemas = json_schemas()
    by_kind = {json.loads(text)["title"]: name for name, text in expected_files().items()}
    assert set(by_kind) == {
        "ApprovalPolicy",
        "Config",
        "Environment",
        "ExecutionPolicy",
        "Flag",
        "Project",
        "RiskPolicy",
        "Strategy",
    }
    for path in sorted((Path(__file__).parent / "examples" / "good").glob("*.yaml")):
        data = load_bytes(path.name, path.read_bytes()).data
        slug = by_kind[data["kind"]].removesuffix(".schema.json")
        validator = jsonschema.Draft202012Validator(schemas[slug])
        assert not list(validator.iter_errors(data)), path.name


def test_json_schema_rejects_a_misspelt_field() -> None:
    schema = json_schemas()["strategy"]
    doc = {
        "apiVersion": "qv/v1",
        "kind": "Strategy",
        "metadata": {"name": "x"},
        "spec": {"limits": {"max_order_notionl": 1}},
    }
    messages = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    assert any("max_order_notionl" in m for m in messages)
