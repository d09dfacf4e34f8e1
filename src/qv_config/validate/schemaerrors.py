"""A Config's failures against its service schema (QV310): every error at its path, no secret,
no value in bulk.

Validators are built with ``mask=MASK``, so jsonschema-rs writes MASK wherever a message would
quote the value that failed; it is replaced here by a short excerpt (``EXCERPT`` characters at
most) of that value in which every secret field reads ``(secret)``. Secret fields are those the
schema marks ``x-qv-secret`` and every SOPS ciphertext.

A ciphertext that could be opened (a key at hand, ``plaintext``) is checked as its plaintext. One
that could not is *sealed*: its own constraints are not checked, nor any failure above it that
may depend on what it holds (skipped, not failed: they are checked where the key is).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from qv_config.ciphertext import is_ciphertext
from qv_config.findings import dotted
from qv_config.validate.rules.secrets import SecretPattern, field_values
from qv_config.validate.types import Issue

if TYPE_CHECKING:
    from jsonschema_rs import ValidationError, Validator

MASK = "\x00qv-value\x00"  # never in a message of jsonschema-rs' own
SECRET = "(secret)"
EXCERPT = 40  # characters of a value a message may quote
_MAX_MESSAGE = 300  # a message quoting a big enum or const of the schema is cut too
_MAX_ERRORS = 50  # per document: enough to fix, not a flood
# Failures decided by the shape of a value (its keys, its size, its type), not by what the
# fields below it hold: still reported above a sealed ciphertext.
_SHAPE = frozenset(
    {
        "additionalProperties",
        "dependentRequired",
        "falseSchema",
        "maxItems",
        "maxProperties",
        "minItems",
        "minProperties",
        "propertyNames",
        "required",
        "type",
    }
)

Path = tuple[str | int, ...]


def describe(
    validator: Validator,
    schema: str,
    spec: Any,
    patterns: tuple[SecretPattern, ...],
    plaintext: Mapping[str, Any],
) -> list[Issue]:
    """QV310 issues of ``spec`` (the ``spec`` of a Config) against ``validator``, the service
    schema at path ``schema``; ``patterns``: its ``x-qv-secret`` fields (document paths)."""
    instance = _opened(spec, plaintext) if plaintext else spec
    try:
        if validator.is_valid(instance):
            return []
    except ValueError:  # a key or value JSON has not (a YAML integer key): as JSON writes it
        instance = _jsonable(instance)
        if validator.is_valid(instance):
            return []
    ciphers = dict(_ciphertexts(spec, ()))
    sealed = {path for path, text in ciphers.items() if text not in plaintext}
    secret = set(ciphers) | {
        path
        for pattern in patterns
        if pattern[:1] == ("spec",)
        for path, _value in field_values(spec, pattern[1:])
    }
    issues = {
        _issue(error, schema, instance, secret)
        for error in validator.iter_errors(instance)
        if not _hides(error, sealed)
    }
    return sorted(issues, key=lambda i: (tuple(map(str, i.path)), i.message))[:_MAX_ERRORS]


def _issue(error: ValidationError, schema: str, instance: Any, secret: set[Path]) -> Issue:
    path: Path = tuple(error.instance_path)
    where = dotted(("spec", *path))
    message = _message(error, _value_at(instance, path), path, secret)
    return Issue("QV310", ("spec", *path), f"{where}: {message} (schema {schema})")


def _message(error: ValidationError, value: Any, path: Path, secret: set[Path]) -> str:
    message = error.message
    if error.kind.name == "falseSchema":
        message = _false_schema(error.schema_path, value)
    if MASK in message:
        shown = SECRET if _inside(path, secret) else excerpt(_masked(value, path, secret))
        message = message.replace(MASK, shown)
    return _cut(message, _MAX_MESSAGE)


def _false_schema(schema_path: list[str | int], value: Any) -> str:
    """What a ``false`` subschema refuses, said with the keyword that holds it."""
    # jsonschema-rs reports ``additionalProperties: false`` beside no ``properties`` and no
    # ``patternProperties`` as a false schema at the mapping: every key is unexpected then.
    if schema_path[-1:] == ["additionalProperties"] and isinstance(value, Mapping):
        keys = ", ".join(repr(str(key)) for key in value)
        return f"Additional properties are not allowed ({keys} were unexpected)"
    where = "/".join(map(str, schema_path))
    return f"{MASK} is not allowed (the schema is false at /{where})"


def _hides(error: ValidationError, sealed: set[Path]) -> bool:
    """Whether ``error`` may come from a value still encrypted: at or below one, or above one
    and decided by what the fields below hold."""
    if not sealed:
        return False
    path: Path = tuple(error.instance_path)
    if _inside(path, sealed):
        return True
    return error.kind.name not in _SHAPE and _holds(path, sealed)


def _inside(path: Path, paths: set[Path]) -> bool:
    """Whether ``path`` is one of ``paths`` or below one."""
    return any(path[:cut] in paths for cut in range(len(path) + 1))


def _holds(path: Path, paths: set[Path]) -> bool:
    """Whether one of ``paths`` is below ``path``."""
    size = len(path)
    return any(len(other) > size and other[:size] == path for other in paths)


def excerpt(value: Any) -> str:
    """A value as a message may quote it: JSON, at most ``EXCERPT`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return _cut(text, EXCERPT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _masked(value: Any, here: Path, secret: set[Path]) -> Any:
    """``value`` (found at ``here``, itself no secret) with every secret field in it read
    ``(secret)``."""
    if here in secret:
        return SECRET
    if not _holds(here, secret):
        return value
    if isinstance(value, Mapping):
        return {key: _masked(item, (*here, key), secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, (*here, index), secret) for index, item in enumerate(value)]
    return value


def _value_at(instance: Any, path: Path) -> Any:
    for step in path:
        try:
            instance = instance[step]
        except (KeyError, IndexError, TypeError):
            return None
    return instance


def _ciphertexts(value: Any, here: Path) -> Iterator[tuple[Path, str]]:
    """(path, ciphertext) of every SOPS ciphertext under ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _ciphertexts(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _ciphertexts(item, (*here, index))
    elif is_ciphertext(value):
        yield here, value


def _opened(value: Any, plaintext: Mapping[str, Any]) -> Any:
    """``value`` with each ciphertext that ``plaintext`` knows replaced by its plaintext."""
    if isinstance(value, Mapping):
        return {key: _opened(item, plaintext) for key, item in value.items()}
    if isinstance(value, list):
        return [_opened(item, plaintext) for item in value]
    if isinstance(value, str) and value in plaintext:
        return plaintext[value]
    return value


def _jsonable(value: Any) -> Any:
    """``value`` as JSON would hold it: keys as ``json.dumps`` writes them, other types as text."""
    if isinstance(value, Mapping):
        return {_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    return json.dumps(key) if key is None or isinstance(key, bool | int | float) else str(key)
