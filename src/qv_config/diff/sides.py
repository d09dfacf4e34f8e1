"""The two sides of a diff, ``ENV`` (work tree) or ``ENV@REV`` (a Git revision), and what a
diff needs to know about a side: risk and secret marks, ``env_specific`` fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.errors import UsageError
from qv_config.names import check_env
from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    pass


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


MarkLookup = Callable[[Mapping[str, Any], FieldPath], tuple[str | None, bool]]


def mark_lookup(read: Callable[[str], bytes | None], root: Path | None = None) -> MarkLookup:
    """Risk and secret marks: built-in kinds from the models (kept in the cache of ``root``),
    Configs from their own schema."""
    import orjson

    from qv_config.diff.kindmarks import kind_marks
    from qv_config.models.marks import Marks, is_secret, marks_for_config_schema, match_mark

    marks_for_kind = kind_marks(root)

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

    by_kind: dict[str, Marks] = {}
    # Thousands of documents of a kind ask about the same few paths: answers by (marks, path);
    # the marks stay referenced (by_kind, by_schema), so their ids are not reused.
    answers: dict[tuple[int, FieldPath], tuple[str | None, bool]] = {}

    def lookup(doc: Mapping[str, Any], path: FieldPath) -> tuple[str | None, bool]:
        kind = str(doc.get("kind", ""))
        if kind == "Config":
            found = config_marks(doc)
        else:
            known = by_kind.get(kind)
            found = known if known is not None else by_kind.setdefault(kind, marks_for_kind(kind))
        key = (id(found), path)
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = (match_mark(found, path), is_secret(found, path))
        return answer

    return lookup
