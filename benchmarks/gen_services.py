"""Document builders of the generator for the service side: Flags, Configs and their schemas.

Split from ``gen_kinds`` (trading kinds) to keep modules small; the same validity-by-construction
rules apply (see ``gen_kinds``).
"""

from __future__ import annotations

import random
from typing import Any

from gen_kinds import ENV_VARS, SEGMENTS, STYLES, Doc, config_name, envelope, flag_name, kill_name

# ---------------------------------------------------------------- Flag


def kill_switch(i: int) -> Doc:
    spec = {
        "type": "kill-switch",
        "description": "Stops the strategies bound to it in {{ env.name }}",
        "enabled": False,
        "strategies": [{"name": "default"}],
    }
    return envelope("Flag", kill_name(i), spec, metadata={"owner": "risk"})


def _rollout(name: str, env: str, rng: random.Random) -> Doc:
    return {
        "name": "flexibleRollout",
        "parameters": {
            "rollout": str(rng.randrange(5, 101, 5)),
            "stickiness": "default",
            "groupId": name,
        },
        "constraints": [
            {"contextName": "environment", "operator": "IN", "values": [env]},
            {"contextName": "appVersion", "operator": "SEMVER_GT", "value": "1.2.0"},
            {"contextName": "load", "operator": "NUM_LTE", "value": "80", "inverted": False},
        ],
        "segments": [SEGMENTS[rng.randrange(len(SEGMENTS))]],
    }


def _variants(rng: random.Random) -> list[Doc]:
    first = rng.randrange(100, 900, 100)
    return [
        {"name": "control", "weight": first, "weightType": "variable", "stickiness": "default"},
        {
            "name": "treatment",
            "weight": 1000 - first,
            "weightType": "variable",
            "stickiness": "default",
            "payload": {"type": "json", "value": '{"model": "xgb-v3"}'},
        },
    ]


def flag(i: int, env: str, rng: random.Random) -> Doc:
    name = flag_name(i)
    kind = ("release", "experiment", "ops")[i % 3]
    spec: Doc = {"type": kind, "enabled": i % 5 != 0, "strategies": [_rollout(name, env, rng)]}
    if kind == "experiment":
        spec["variants"] = _variants(rng)
    if i % 4 == 1:
        spec["dependencies"] = [{"feature": flag_name(i - 1), "enabled": True}]
    if i % 3 == 0:
        spec["expires"] = "2031-12-31"
        spec["impressionData"] = False
    return envelope("Flag", name, spec, metadata={"owner": f"team-{STYLES[i % 6]}"})


# ---------------------------------------------------------------- Config and its schemas

_EXTRAS: list[tuple[str, Doc, Any]] = [
    ("cache_ttl_s", {"type": "integer", "minimum": 0, "maximum": 86400}, 300),
    ("max_inflight", {"type": "integer", "minimum": 1, "x-qv-risk": "ceiling"}, 64),
    ("venue", {"type": "string", "enum": ["XLON", "XETR", "XPAR", "XNYS"]}, "XLON"),
    (
        "retry",
        {
            "type": "object",
            "properties": {"attempts": {"type": "integer"}, "backoff_ms": {"type": "integer"}},
            "additionalProperties": False,
        },
        {"attempts": 3, "backoff_ms": 250},
    ),
    ("symbols", {"type": "array", "items": {"type": "string"}}, ["AAPL", "MSFT"]),
    ("throttle", {"type": "number", "minimum": 0, "maximum": 1}, 0.75),
]


def _extras(family: int) -> list[tuple[str, Doc, Any]]:
    return [_EXTRAS[(family + k) % len(_EXTRAS)] for k in range(2 + family % 2)]


def service_schema(family: int) -> Doc:
    props: Doc = {
        "replicas": {"type": "integer", "minimum": 1, "maximum": 64},
        "region": {"type": "string", "minLength": 2},
        "log_level": {"enum": ["debug", "info", "warning", "error"]},
        "http": {
            "type": "object",
            "properties": {
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "timeout_ms": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
        "jvm": {
            "type": "object",
            "properties": {
                "heap_mb": {"type": "integer"},
                "gc": {"enum": ["g1", "zgc", "parallel"]},
            },
        },
        "db": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "pattern": "^postgres://"},
                "pool": {"type": "integer", "minimum": 1, "maximum": 200},
            },
            "required": ["url"],
        },
        "features": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    }
    props.update({key: schema for key, schema, _ in _extras(family)})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://quantivista.example/schemas/configs/{config_name(family)}.schema.json",
        "title": f"{config_name(family)} service settings",
        "type": "object",
        "properties": props,
        "required": ["replicas", "region", "log_level"],
        "additionalProperties": False,
    }


def config(i: int, env: str, n_schemas: int, rng: random.Random) -> Doc:
    family = i % n_schemas
    extends = [[], ["service/base"], ["service/jvm"], ["service/jvm-large"]][i % 4]
    svc = config_name(i).replace("-", "_")
    spec: Doc = {
        "db": {
            "url": f"postgres://{{{{ env.vars.db_host }}}}:5432/{svc}",
            "pool": rng.randint(4, 40),
        },
        "features": [f"feature-{k}" for k in range(i % 4)],
    }
    if "service/jvm-large" not in extends:  # that template sets replicas from env.vars (native int)
        spec["replicas"] = ENV_VARS[env]["replicas"] + i % 3
    if not extends:
        spec |= {"region": "{{ env.vars.region }}", "log_level": "info"}
        spec["http"] = {"port": 8000 + i % 1000, "timeout_ms": 1500}
    spec.update({key: value for key, _, value in _extras(family)})
    meta: Doc = {"owner": f"team-{STYLES[i % 6]}"}
    if family != i:  # shares the schema of its family
        meta["schema"] = f"schemas/configs/{config_name(family)}.schema.json"
    return envelope("Config", config_name(i), spec, metadata=meta, extends=extends)
