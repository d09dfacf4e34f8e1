"""Whether a document is valid for its kind's model, without building model instances.

``model_validate`` builds a frozen instance of every nested model (~20 for a Strategy) only for
``check`` to throw them away: ~20 % of its cost. The same core schema with each model turned into
a typed dict (same fields, aliases, defaults and config: strict, extra) validates the same values
and yields plain dicts. Models that a function validator receives (``model_validator(mode=
"after")``: Parameter, Range), that run code of their own on creation, and everything below them,
stay models: those functions see exactly what they always saw.

Only acceptance is answered here: a document this rejects goes through ``model_validate``, whose
errors ``checking`` turns into issues (a rejection here can never lose a finding, and
``tests/models/test_plain.py`` checks both accept the same documents).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic_core import SchemaValidator

# Wrappers whose function receives the validated value of their inner schema: below them a
# model must stay a model. (A "before" function receives the raw input: its inner schema is free.)
_RECEIVING = frozenset({"function-after", "function-wrap", "function-plain"})


def accepts(kind: str, data: dict[str, Any]) -> bool:
    """Whether ``data`` is valid for the model of built-in ``kind`` (a key of ``ALL_KINDS``)."""
    return _validator(kind).isinstance_python(data)


@cache
def _validator(kind: str) -> SchemaValidator:
    from qv_config.models.kinds import ALL_KINDS

    schema = ALL_KINDS[kind].__pydantic_core_schema__
    return SchemaValidator(plain_schema(schema), schema.get("config"))


def prepare() -> None:
    """Build every kind's validator now (before forking workers, which then share them)."""
    from qv_config.models.kinds import ALL_KINDS

    for kind in ALL_KINDS:
        _validator(kind)


def plain_schema(node: Any) -> Any:
    """``node`` (a pydantic core schema, or part of one) with models as typed dicts."""
    if isinstance(node, list):
        return [plain_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind in _RECEIVING:
        return node  # the function gets what the inner schema gives: left as it is
    if kind == "model" and _plain_model(node):
        return _typed_dict(node)
    return {key: _walked(key, value) for key, value in node.items()}


def _walked(key: str, value: Any) -> Any:
    # Python objects a schema carries (classes, functions, metadata, defaults) are not schema.
    return (
        value
        if key in ("cls", "function", "metadata", "default", "serialization")
        else (plain_schema(value))
    )


def _plain_model(node: dict[str, Any]) -> bool:
    """A model whose creation runs nothing but validation (no __init__, post-init or root)."""
    inner = node.get("schema")
    return (
        isinstance(inner, dict)
        and inner.get("type") == "model-fields"
        and not inner.get("extras_schema")
        and not node.get("custom_init")
        and not node.get("post_init")
        and not node.get("root_model")
    )


def _typed_dict(node: dict[str, Any]) -> dict[str, Any]:
    inner = node["schema"]
    fields = {name: _field(field) for name, field in inner["fields"].items()}
    out = {"type": "typed-dict", "fields": fields, "config": node.get("config", {})}
    if "ref" in node:  # a definition other parts refer to
        out["ref"] = node["ref"]
    return out


def _field(field: dict[str, Any]) -> dict[str, Any]:
    schema = field["schema"]
    # A model field is optional exactly when its schema carries a default.
    out = {"type": "typed-dict-field", "schema": plain_schema(schema)}
    out["required"] = not (isinstance(schema, dict) and schema.get("type") == "default")
    if "validation_alias" in field:
        out["validation_alias"] = field["validation_alias"]
    return out
