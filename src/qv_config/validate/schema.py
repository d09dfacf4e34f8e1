"""The schema stage: built-in kinds through ``qv_config.models``, Configs through service schemas.

Service schemas are read through the snapshot (so ``--rev`` validates the schema of that
revision), compiled once per content hash with ``fastjsonschema`` (the compiled code is cached
across runs under ``.qv/cache/schemacode/``, see ``schemacode``); only a document that fails is
described again with ``jsonschema`` so that *every* error is listed with its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.validate import schemacode
from qv_config.validate.rules.secrets import SecretPattern
from qv_config.validate.types import Issue
from qv_config.yamlio.types import FieldPath

_MAX_ERRORS = 50  # per document: enough to fix, not a flood
_COMPILED: dict[str, Callable[[Any], Any] | None] = {}  # schema content hash -> validator


@dataclass(frozen=True)
class SchemaProblem:
    """The schema itself is unusable (QV311), located in the schema file when possible."""

    file: str
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class ConfigSchema:
    """A service schema file: its digest is all a cache hit needs; parsing is deferred."""

    path: str
    digest: str
    raw: bytes


@dataclass(frozen=True)
class ParsedSchema:
    path: str
    digest: str
    schema: Any = None
    secrets: tuple[SecretPattern, ...] = ()
    problem: SchemaProblem | None = None


class SchemaStore:
    """Service schemas of one snapshot: each read once, parsed and checked only when needed.

    ``known_good`` holds digests of schemas already checked against the 2020-12 metaschema (kept
    in the result cache: checking costs ~10 ms per schema). ``code_dir`` is the project root
    whose ``.qv/cache/schemacode/`` keeps compiled validators across runs (None: no disk cache).
    """

    def __init__(
        self,
        read: Callable[[str], bytes | None],
        known_good: set[str] | None = None,
        *,
        code_dir: Path | None = None,
    ) -> None:
        self._read = read
        self._code_folder = schemacode.folder_of(code_dir)
        self._by_path: dict[str, ConfigSchema | None] = {}
        self._parsed: dict[str, ParsedSchema] = {}
        self.known_good: set[str] = known_good if known_good is not None else set()

    def for_config(self, data: Mapping[str, Any]) -> tuple[ConfigSchema | None, Issue | None]:
        """The schema of a Config document, or an issue when an explicit one is missing."""
        metadata = data.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        explicit = metadata.get("schema")
        if isinstance(explicit, str) and explicit:
            found = self._load(explicit.removeprefix("./"))
            if found is None:
                return None, Issue(
                    "QV311",
                    ("metadata", "schema"),
                    f"metadata.schema {explicit!r} does not exist; fix the path "
                    f"or remove the field",
                )
            return found, None
        name = metadata.get("name")
        return (
            self._load(f"schemas/configs/{name}.schema.json") if isinstance(name, str) else None
        ), None

    def _load(self, path: str) -> ConfigSchema | None:
        if path not in self._by_path:
            raw = self._read(path)
            digest = schemacode.schema_digest(raw) if raw is not None else ""
            self._by_path[path] = None if raw is None else ConfigSchema(path, digest, raw)
        return self._by_path[path]

    def digest_of(self, path: str) -> str:
        """Content digest of a schema file ("" when absent)."""
        found = self._load(path)
        return found.digest if found is not None else ""

    def reads(self) -> tuple[tuple[str, str], ...]:
        """Every schema path looked up so far, with its digest ("" when absent)."""
        return tuple((p, s.digest if s else "") for p, s in sorted(self._by_path.items()))

    def preload(self, paths: Iterable[str]) -> None:
        """Parse and compile these schemas now (before forking workers, which then share them)."""
        for path in paths:
            found = self._load(path)
            if found is not None:
                self.parsed(found)

    def parsed(self, schema: ConfigSchema) -> ParsedSchema:
        if schema.digest not in self._parsed:
            result = _parse(schema, schema.digest in self.known_good, self._code_folder)
            if result.problem is None:
                self.known_good.add(schema.digest)
            self._parsed[schema.digest] = result
        return self._parsed[schema.digest]


def _parse(source: ConfigSchema, checked: bool, folder: Path | None) -> ParsedSchema:
    path, digest = source.path, source.digest
    try:
        schema = json.loads(source.raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line, col = (err.lineno, err.colno) if isinstance(err, json.JSONDecodeError) else (1, 1)
        return ParsedSchema(
            path,
            digest,
            problem=SchemaProblem(
                path, line, col, f"schema {path} is not valid JSON: {err}; fix the file"
            ),
        )
    remote = _remote_ref(schema)
    if remote is not None:
        message = (
            f"schema {path} refers to {remote!r}: qv validates offline and fetches nothing; "
            "put the definition under $defs and refer to it as '#/$defs/...'"
        )
        return ParsedSchema(path, digest, problem=SchemaProblem(path, 1, 1, message))
    # fastjsonschema's compiler rejects malformed keywords (bad types, patterns, shapes), so the
    # slow metaschema check (~10 ms a schema) runs only for schemas it refuses.
    refused = _compile(digest, schema, folder) is None
    problem = _metaschema_problem(path, schema) if refused and not checked else None
    if problem is not None:
        return ParsedSchema(path, digest, problem=problem)
    from qv_config.models import marks_for_config_schema

    secrets = tuple(sorted(marks_for_config_schema(schema).secret))
    return ParsedSchema(path, digest, schema, secrets)


def _remote_ref(node: Any) -> str | None:
    """The first ``$ref``/``$dynamicRef`` that leaves the schema document (not ``#...``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                if not value.startswith("#"):
                    return value
            elif (found := _remote_ref(value)) is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            if (found := _remote_ref(item)) is not None:
                return found
    return None


def _metaschema_problem(path: str, schema: Any) -> SchemaProblem | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = ".".join(map(str, err.absolute_path)) or "(root)"
        return SchemaProblem(
            path, 1, 1, f"schema {path} is not a valid JSON Schema at {where}: {err.message}"
        )
    return None


def _compile(digest: str, schema: Any, folder: Path | None) -> Callable[[Any], Any] | None:
    if digest not in _COMPILED:
        _COMPILED[digest] = schemacode.compile_validator(digest, schema, folder)
    return _COMPILED[digest]


def _compiled(schema: ParsedSchema) -> Callable[[Any], Any] | None:
    return _compile(schema.digest, schema.schema, None)  # compiled (or refused) when parsed


def config_issues(schema: ParsedSchema, spec: Any) -> list[Issue]:
    """QV310 issues of a Config's ``spec`` against its service schema (all of them)."""
    validator = _compiled(schema)
    if validator is not None:
        import fastjsonschema

        try:
            validator(spec)
            return []
        except fastjsonschema.JsonSchemaException:
            pass
    from jsonschema import Draft202012Validator
    from referencing.exceptions import Unresolvable

    issues = []
    try:
        for error in Draft202012Validator(schema.schema).iter_errors(spec):
            path: FieldPath = ("spec", *error.absolute_path)
            where = ".".join(map(str, path))
            issues.append(Issue("QV310", path, f"{where}: {error.message} (schema {schema.path})"))
    except Unresolvable as err:  # a '#/...' reference to nothing in the schema
        message = f"schema {schema.path} has a reference that resolves to nothing ({err}); fix it"
        return [Issue("QV310", ("spec",), message)]
    issues.sort(key=lambda i: tuple(map(str, i.path)))
    return issues[:_MAX_ERRORS]


_INDEX = re.compile(r"\[(\d+)\]")


def _as_path(raw: Any) -> FieldPath:
    if isinstance(raw, tuple | list):
        return tuple(p if isinstance(p, int) else str(p) for p in raw)
    text = _INDEX.sub(r".\1", str(raw))
    return tuple(int(p) if p.isdigit() else p for p in text.split(".") if p)


def builtin_secrets(kind: str) -> list[SecretPattern]:
    """Secret field patterns of a built-in kind (from its model's JSON Schema)."""
    from qv_config import models

    marks_for_kind = getattr(models, "marks_for_kind", None)
    if marks_for_kind is None or kind not in getattr(models, "KINDS", {}):
        return []
    return sorted(marks_for_kind(kind).secret)


def builtin_issues(kind: str, data: Mapping[str, Any]) -> list[Issue]:
    """QV301–QV303 issues from the models package; none while it is not available."""
    from qv_config import models

    # The models package lands in parallel: until it exports ``check`` there is no schema stage.
    check = getattr(models, "check", None)
    if check is None or kind not in getattr(models, "KINDS", {}):
        return []  # unknown kinds are QV202, reported by the renderer
    return [Issue(str(i.code), _as_path(i.path), str(i.message)) for i in check(kind, data)]
