"""Loading the two sides of a diff: ``ENV`` (work tree) or ``ENV@REV`` (a Git revision).

Snapshots are loaded once per revision within a run (``qv review`` compares every environment
between the same two revisions). A side whose tree does not render cleanly is refused with the
reason, naming the side (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qv_config.errors import CheckFailed, UsageError
from qv_config.findings import Finding
from qv_config.repo.types import Snapshot
from qv_config.yamlio.types import FieldPath


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
    return Side(env, rev or None)


@dataclass
class Snapshots:
    """One loaded snapshot per revision for the length of one command."""

    root: Path
    _loaded: dict[str | None, Snapshot] = field(default_factory=dict)

    def get(self, rev: str | None) -> Snapshot:
        if rev not in self._loaded:
            self._loaded[rev] = _load(self.root, rev)
        return self._loaded[rev]


def _load(root: Path, rev: str | None) -> Snapshot:
    from qv_config.repo import WorkTreeSource, load_snapshot
    from qv_config.repo.git import GitSource

    return load_snapshot(GitSource(root, rev) if rev else WorkTreeSource(root))


def check_env(snapshot: Snapshot, env: str, label: str) -> None:
    if env not in snapshot.environments:
        names = ", ".join(snapshot.environments) or "none"
        raise UsageError(
            f"unknown environment {env!r} in {snapshot.label}", hint=f"environments: {names}"
        )


def rendered_refs(snapshot: Snapshot, env: str, label: str) -> dict[str, Mapping[str, Any]]:
    """``kind-slug/name`` -> rendered document; refuses a side that does not render cleanly."""
    from qv_config.render.engine import render_environment

    check_env(snapshot, env, label)
    rendered = render_environment(snapshot, env)
    errors = [f for f in (*snapshot.findings, *rendered.findings) if f.is_error]
    if errors:
        raise CheckFailed(_invalid_message(label, snapshot, errors))
    return {key.split("/", 1)[1]: doc.data for key, doc in rendered.docs.items()}


def _invalid_message(label: str, snapshot: Snapshot, errors: list[Finding]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return (
        f"side {label} ({snapshot.label}) is invalid: {first.file}:{first.line}:{first.col}: "
        f"{first.code} {first.message}{more}; run `qv validate` on that revision"
    )


MarkLookup = Callable[[Mapping[str, Any], FieldPath], tuple[str | None, bool]]


def mark_lookup(snapshot: Snapshot) -> MarkLookup:
    """Risk and secret marks: built-in kinds from the models, Configs from their own schema."""
    import orjson

    from qv_config.models import marks_for_kind
    from qv_config.models.marks import Marks, is_secret, marks_for_config_schema, match_mark

    by_schema: dict[str, Marks] = {}

    def config_marks(doc: Mapping[str, Any]) -> Marks:
        meta = doc.get("metadata") or {}
        path = meta.get("schema") or f"schemas/configs/{meta.get('name')}.schema.json"
        if path not in by_schema:
            raw = snapshot.read(path)
            try:
                schema = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                schema = {}
            by_schema[path] = marks_for_config_schema(schema if isinstance(schema, dict) else {})
        return by_schema[path]

    def lookup(doc: Mapping[str, Any], path: FieldPath) -> tuple[str | None, bool]:
        kind = str(doc.get("kind", ""))
        found = config_marks(doc) if kind == "Config" else marks_for_kind(kind)
        return match_mark(found, path), is_secret(found, path)

    return lookup


def env_specific(snapshot: Snapshot) -> list[FieldPath]:
    paths = snapshot.project.spec.env_specific if snapshot.project else []
    return [tuple(p.split(".")) for p in paths]
