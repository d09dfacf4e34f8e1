"""The schema stage: built-in kinds through ``qv_config.models``, Configs through service schemas.

Service schemas are JSON Schema 2020-12, read through the snapshot (so ``--rev`` validates the
schema of that revision) and compiled once per content hash by ``jsonschema-rs`` (~0.2 ms a
schema, metaschema check included: nothing is cached across runs). A document that fails is
described by the same validator (``schemaerrors``): every error with its path, no secret and no
value in bulk. Validation is offline: a ``$ref`` that leaves the schema file is QV311, and the
validator is built with retrieval disabled besides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from qv_config.validate.rules.secrets import SecretPattern
from qv_config.validate.schemaerrors import MASK, describe
from qv_config.validate.schemafiles import schema_digest
from qv_config.validate.types import Issue

if TYPE_CHECKING:
    from jsonschema_rs import Validator

    from qv_config.yamlio.types import FieldPath


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
    validator: Validator | None = None
    secrets: tuple[SecretPattern, ...] = ()
    problem: SchemaProblem | None = None


class SchemaStore:
    """Service schemas of one snapshot: each read once, parsed and compiled only when needed."""

    def __init__(self, read: Callable[[str], bytes | None]) -> None:
        self._read = read
        self._by_path: dict[str, ConfigSchema | None] = {}
        self._parsed: dict[str, ParsedSchema] = {}

    def for_config(self, data: Mapping[str, Any]) -> tuple[ConfigSchema | None, Issue | None]:
        """The schema of a Config document, or an issue when an explicit one is missing."""
        metadata = data.get("metadata")
        metadata = metadata if type(metadata) is dict or isinstance(metadata, Mapping) else {}
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
            found = None if raw is None else ConfigSchema(path, schema_digest(raw), raw)
            self._by_path[path] = found
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
            self._parsed[schema.digest] = _parse(schema)
        return self._parsed[schema.digest]


def _problem(source: ConfigSchema, message: str, line: int = 1, col: int = 1) -> ParsedSchema:
    return ParsedSchema(
        source.path, source.digest, problem=SchemaProblem(source.path, line, col, message)
    )


def _parse(source: ConfigSchema) -> ParsedSchema:
    path = source.path
    try:
        schema = json.loads(source.raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line, col = (err.lineno, err.colno) if isinstance(err, json.JSONDecodeError) else (1, 1)
        return _problem(source, f"schema {path} is not valid JSON: {err}; fix the file", line, col)
    remote = _remote_ref(schema)
    if remote is not None:
        return _problem(
            source,
            f"schema {path} refers to {remote!r}: qv validates offline and fetches nothing; "
            "put the definition under $defs and refer to it as '#/$defs/...'",
        )
    validator = _compile(path, schema)
    if isinstance(validator, str):
        return _problem(source, validator)
    from qv_config.models import marks_for_config_schema

    marks = marks_for_config_schema(schema) if isinstance(schema, dict) else None
    secrets = tuple(sorted(marks.secret)) if marks is not None else ()
    return ParsedSchema(path, source.digest, validator, secrets)


def _compile(path: str, schema: Any) -> Validator | str:
    """The 2020-12 validator of ``schema`` (whatever its ``$schema`` says), or why there is none:
    building it checks the schema against the 2020-12 metaschema and resolves every ``$ref``."""
    import jsonschema_rs

    if not isinstance(schema, dict | bool):
        return f"schema {path} is not a JSON Schema (an object or a boolean); fix the file"
    try:
        return jsonschema_rs.Draft202012Validator(schema, mask=MASK, offline=True)
    except jsonschema_rs.ValidationError as err:
        if err.kind.name == "$ref":  # a '#...' reference to nothing in the schema
            return f"schema {path} has a reference that resolves to nothing: {err.message}; fix it"
        where = ".".join(map(str, err.instance_path)) or "(root)"
        return f"schema {path} is not a valid JSON Schema 2020-12 at {where}: {err.message}"


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


def config_issues(
    schema: ParsedSchema, spec: Any, plaintext: Mapping[str, Any] | None = None
) -> list[Issue]:
    """QV310 issues of a Config's ``spec`` against its service schema (all of them, up to a
    bound). ``plaintext`` maps the ciphertexts that could be opened to their values: secret
    fields are checked decrypted; one still encrypted is not checked (see ``schemaerrors``)."""
    if schema.validator is None:
        return []
    return describe(schema.validator, schema.path, spec, schema.secrets, plaintext or {})


_INDEX = re.compile(r"\[(\d+)\]")


def _as_path(raw: Any) -> FieldPath:
    if isinstance(raw, tuple | list):
        return tuple(p if isinstance(p, int) else str(p) for p in raw)
    text = _INDEX.sub(r".\1", str(raw))
    return tuple(int(p) if p.isdigit() else p for p in text.split(".") if p)


def builtin_secrets(kind: str) -> list[SecretPattern]:
    """Secret field patterns of a built-in kind (from its model's JSON Schema)."""
    return list(_secrets_of(kind))


@cache
def _secrets_of(kind: str) -> tuple[SecretPattern, ...]:
    """``builtin_secrets``, worked out once per kind: the models do not change in a process."""
    from qv_config import models

    marks_for_kind = getattr(models, "marks_for_kind", None)
    if marks_for_kind is None or kind not in getattr(models, "KINDS", {}):
        return ()
    return tuple(sorted(marks_for_kind(kind).secret))


def builtin_issues(kind: str, data: Mapping[str, Any]) -> list[Issue]:
    """QV301–QV303 issues from the models package; none while it is not available."""
    check = _checker(kind)
    if check is None:
        return []  # unknown kinds are QV202, reported by the renderer
    found = check(kind, data)
    if not found:  # nearly always: no comprehension (a call) per document
        return []
    return [Issue(str(i.code), _as_path(i.path), str(i.message)) for i in found]


@cache
def _checker(kind: str) -> Callable[[str, Mapping[str, Any]], Iterable[Any]] | None:
    """The models package's ``check`` for a built-in ``kind`` (looked up once per kind)."""
    from qv_config import models

    # The models package lands in parallel: until it exports ``check`` there is no schema stage.
    check = getattr(models, "check", None)
    if check is None or kind not in getattr(models, "KINDS", {}):
        return None
    return check  # type: ignore[no-any-return]
