"""What a QV310 message may quote: a short excerpt of the failing value, never a secret (a field
marked ``x-qv-secret``, or a SOPS ciphertext), never a big value whole; and what a ciphertext
that no key opened hides (skipped, not failed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.validate.conftest import make_doc, make_env

from qv_config.findings import Finding
from qv_config.validate.engine import validate_rendered

PATH = "schemas/configs/svc.schema.json"
EXCERPT = 40  # characters of a value a message may quote
PLAINTEXT = "hunter2-plaintext-password"
CIPHERTEXT = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXYxMjM0NTY3ODkw,tag:dGFnMTIzNDU2Nzg5MA==,type:str]"


def _schema_findings(schema: dict[str, Any], spec: dict[str, Any]) -> list[Finding]:
    raw = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema})
    env = make_env("dev", make_doc("dev", "Config", "svc", spec))
    found = validate_rendered([env], read=lambda p: raw.encode() if p == PATH else None)
    return [f for f in found if f.code in ("QV310", "QV311")]


def _secret(constraints: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"password": {**constraints, "x-qv-secret": True}}}


@pytest.mark.parametrize(
    "constraints",
    [
        {"minLength": 40},
        {"pattern": "^sk-"},
        {"type": "integer"},
        {"enum": ["a", "b"]},
        {"not": {"type": "string"}},
        {"format": "email", "maxLength": 3},
    ],
    ids=["minLength", "pattern", "type", "enum", "not", "maxLength"],
)
def test_a_plaintext_secret_is_never_quoted(constraints: dict[str, Any]) -> None:
    found = _schema_findings(_secret(constraints), {"password": PLAINTEXT})
    assert [f.field for f in found] == ["spec.password"]
    assert PLAINTEXT not in found[0].message
    assert "(secret)" in found[0].message


def test_a_secret_inside_a_failing_value_is_masked_in_its_excerpt() -> None:
    schema = {
        "type": "object",
        "properties": {
            "db": {
                "properties": {"password": {"x-qv-secret": True}},
                "oneOf": [{"required": ["url"]}, {"required": ["dsn"]}],
            }
        },
    }
    found = _schema_findings(schema, {"db": {"password": "pw1", "host": "h"}})
    assert [f.field for f in found] == ["spec.db"]
    assert "pw1" not in found[0].message
    assert '{"password":"(secret)"' in found[0].message


@pytest.mark.parametrize(
    "value",
    ["x" * 10_000, {f"key{i}": "v" * 50 for i in range(500)}, list(range(5_000))],
    ids=["string", "mapping", "list"],
)
def test_a_big_value_is_quoted_as_a_short_excerpt(value: Any) -> None:
    found = _schema_findings({"properties": {"big": {"type": "boolean"}}}, {"big": value})
    assert [f.field for f in found] == ["spec.big"]
    message = found[0].message
    assert len(message) < EXCERPT + 120
    assert "…" in message


def test_a_schema_quoting_a_big_enum_is_cut() -> None:
    options = [f"option-{i}" for i in range(2_000)]
    found = _schema_findings({"properties": {"mode": {"enum": options}}}, {"mode": "other"})
    assert len(found[0].message) < 400


def test_a_sealed_ciphertext_hides_what_depends_on_it_not_what_does_not() -> None:
    schema = {
        "type": "object",
        "required": ["db"],
        "properties": {
            "db": {
                "type": "object",
                "required": ["host"],
                "properties": {"password": {"type": "integer", "minimum": 10}},
                "anyOf": [{"properties": {"password": {"const": 5}}}],
            }
        },
    }
    found = _schema_findings(schema, {"db": {"password": CIPHERTEXT}})
    # type/minimum of the value and the anyOf above it depend on the plaintext; the missing
    # ``host`` does not.
    assert [(f.field, "host" in f.message) for f in found] == [("spec.db", True)]
    assert CIPHERTEXT not in found[0].message


def test_additional_properties_false_names_every_unexpected_key() -> None:
    found = _schema_findings({"additionalProperties": False}, {"alpha": 1, "beta": {"x": 2}})
    assert [f.field for f in found] == ["spec"]
    assert "'alpha', 'beta' were unexpected" in found[0].message


def test_integer_keys_are_checked_as_json_writes_them() -> None:
    schema = {"properties": {"ports": {"propertyNames": {"pattern": "^[0-9]+$"}}}}
    assert _schema_findings(schema, {"ports": {8080: "http", 8443: "https"}}) == []
    found = _schema_findings(schema, {"ports": {8080: "http", True: "bad"}})
    assert [f.field for f in found] == ["spec.ports"]
