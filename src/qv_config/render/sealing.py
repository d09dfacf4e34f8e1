"""Secrets out of templates' reach (docs/secrets.md#secrets-are-data).

A secret is deployed as exactly itself, at its own field: never templated (``yamlio.Plaintext``
marks decrypted text, which the walker passes by) and never read by a template. Templates read
``env`` (the Environment document's ``spec.vars`` and ``spec.tier``) and ``doc`` (a document's
``metadata``); an encrypted value there is replaced in the context by a sealed value, which any
use fails with QV231 naming the field, never the value. The fields are found in the files' own
encrypted data (``Snapshot.encrypted``), so validation (which sees ciphertext) and
``sync``/``render --decrypt`` (which see plaintext) give the same finding, for a secret of any
type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qv_config.findings import dotted
from qv_config.render.types import Layer
from qv_config.yamlio.types import FieldPath


class SecretFields:
    """The secret fields of each encrypted file of a snapshot, found once per file."""

    def __init__(self, encrypted: Mapping[str, Any]) -> None:
        self._encrypted = encrypted
        self._paths: dict[str, tuple[FieldPath, ...]] = {}

    def of(self, layers: Iterable[Layer], prefix: FieldPath) -> list[FieldPath]:
        """The secret fields under ``prefix`` of a document made of ``layers`` (relative to it).

        A secret inside a list stands for the whole list: merging by name may move items."""
        if not self._encrypted:  # the common case: one test per document
            return []
        found: list[FieldPath] = []
        for layer in layers:
            for path in self._file(layer.doc.path):
                if path[: len(prefix)] == prefix and len(path) > len(prefix):
                    found.append(path[len(prefix) :])
        return found

    def _file(self, path: str) -> tuple[FieldPath, ...]:
        known = self._paths.get(path)
        if known is None:
            data = self._encrypted.get(path)
            known = self._paths[path] = tuple(_ciphertexts(data, ())) if data is not None else ()
        return known


def _ciphertexts(value: Any, path: FieldPath) -> Iterable[FieldPath]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "sops" or path:
                yield from _ciphertexts(item, (*path, key))
    elif isinstance(value, list):
        if any(next(iter(_ciphertexts(item, ())), None) is not None for item in value):
            yield path
    elif isinstance(value, str) and value.startswith("ENC["):
        yield path


def sealed(data: dict[str, Any], paths: Iterable[FieldPath], name: str) -> dict[str, Any]:
    """``data`` (what the context calls ``name``) with the value at each of ``paths`` sealed;
    ``data`` itself when none is there (copies are made only along a sealed path)."""
    from qv_config.render.sandbox import sealed_value

    out = data
    for path in paths:
        out = _at(out, path, sealed_value(f"{name}.{dotted(path)}"))
    return out


def _at(node: Any, path: FieldPath, value: Any) -> Any:
    if not isinstance(node, dict) or path[0] not in node:
        return node
    copy = dict(node)
    copy[path[0]] = value if len(path) == 1 else _at(node[path[0]], path[1:], value)
    return copy
