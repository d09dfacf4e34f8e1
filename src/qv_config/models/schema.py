"""JSON Schema (draft 2020-12) of every built-in kind, and their export to ``schemas/qv/``."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from qv_config.errors import OperationalError
from qv_config.models.kinds import ALL_KINDS, slugs

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://schemas.quantivista.dev/qv/"

_DESCRIPTIONS = {
    "Project": "qv.yaml: the project manifest of a QuantiVista configuration repository.",
    "Environment": "environments/<env>/environment.yaml: tier, capital, risk envelope, vars.",
    "Config": "Settings of one service; spec is checked by schemas/configs/<name>.schema.json.",
    "Flag": "A feature flag with Unleash client-features semantics.",
    "Strategy": "A trading-strategy definition: lifecycle, parameters, limits, allocation.",
    "RiskPolicy": "Risk limits for a group of strategies.",
    "ExecutionPolicy": "Rule-based choice of execution algorithm; the first matching rule wins.",
    "ApprovalPolicy": "policy/approvals.yaml: who must approve what, read at a change's base.",
}


@cache
def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind (cached: treat the result as read-only)."""
    model: type[BaseModel] = ALL_KINDS[kind]
    slug = slugs()[kind]
    body = model.model_json_schema()
    header = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ID_BASE}{slug}.schema.json",
        "title": kind,
        "description": _DESCRIPTIONS[kind],
    }
    return {**body, **header}


def json_schemas() -> dict[str, dict[str, Any]]:
    """kind-slug -> JSON Schema, for every built-in kind and the project manifest (read-only)."""
    table = slugs()
    return {table[kind]: kind_schema(kind) for kind in ALL_KINDS}


def render_schema(schema: dict[str, Any]) -> str:
    """Deterministic text of a schema file: indent 2, sorted keys, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name -> exact text that ``export_schemas`` writes."""
    return {f"{slug}.schema.json": render_schema(s) for slug, s in json_schemas().items()}


def stale_files(out_dir: Path) -> list[Path]:
    """Files of ``out_dir`` that are missing or differ from the models (nothing is written)."""
    stale: list[Path] = []
    for name, text in expected_files().items():
        path = out_dir / name
        try:  # a link is stale whatever it points to: export replaces it by the file
            current = None if path.is_symlink() else path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            current = None
        if current != text:
            stale.append(path)
    return stale


def export_schemas(out_dir: Path) -> list[Path]:
    """Write ``<out_dir>/<slug>.schema.json`` for every kind; returns the paths written."""
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in expected_files().items():
            path = out_dir / name
            # A new file renamed over the old name: a link there is replaced, never written
            # through (a repository could link schemas/qv/x.schema.json to ~/.bashrc).
            fresh = out_dir / f".{name}.tmp"
            fresh.write_text(text, encoding="utf-8")
            os.replace(fresh, path)
            written.append(path)
    except OSError as err:
        raise OperationalError(
            f"cannot write schemas to {out_dir}: {err.strerror or err}",
            hint="check that the directory is writable or pass another --out",
        ) from None
    return written
