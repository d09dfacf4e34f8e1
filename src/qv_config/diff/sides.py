"""The two sides of a diff, ``ENV`` (work tree) or ``ENV@REV`` (a Git revision), and what a
diff needs to know about a side: risk and secret marks, ``env_specific`` fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qv_config.errors import UsageError
from qv_config.names import check_env
from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from qv_config.models import Project
    from qv_config.models.marks import RiskMark


@dataclass(frozen=True)
class Side:
    env: str
    rev: str | None  # None: the work tree

    @property
    def label(self) -> str:
        return f"{self.env}@{self.rev}" if self.rev else self.env


def parse_side(text: str) -> Side:
    env, _, rev = text.partition("@")
    if not env:
        raise UsageError(
            f"{text!r} names no environment", hint="write ENV or ENV@REV, e.g. prod@main"
        )
    if _ and not rev:
        raise UsageError(
            f"{text!r} names no revision after '@'", hint="write ENV@REV, e.g. prod@main"
        )
    return Side(check_env(env), rev or None)


MarkLookup = Callable[[Mapping[str, Any], FieldPath], tuple["RiskMark | None", bool]]


def mark_lookup(read: Callable[[str], bytes | None]) -> MarkLookup:
    """Risk and secret marks: built-in kinds from the models, Configs from their own schema."""
    import orjson

    from qv_config.models import marks_for_kind
    from qv_config.models.marks import Marks, is_secret, marks_for_config_schema, match_risk

    by_schema: dict[str, Marks] = {}

    def config_marks(doc: Mapping[str, Any]) -> Marks:
        meta = doc.get("metadata") or {}
        path = meta.get("schema") or f"schemas/configs/{meta.get('name')}.schema.json"
        if path not in by_schema:
            raw = read(path) if isinstance(path, str) else None
            try:
                schema = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                schema = {}
            by_schema[path] = marks_for_config_schema(schema if isinstance(schema, dict) else {})
        return by_schema[path]

    def lookup(doc: Mapping[str, Any], path: FieldPath) -> tuple[RiskMark | None, bool]:
        kind = str(doc.get("kind", ""))
        found = config_marks(doc) if kind == "Config" else marks_for_kind(kind)
        return match_risk(found, path), is_secret(found, path)

    return lookup


def env_specific(project: Project | None) -> list[FieldPath]:
    paths = project.spec.env_specific if project else []
    return [tuple(p.split(".")) for p in paths]
