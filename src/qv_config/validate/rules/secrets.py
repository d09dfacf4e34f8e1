"""Secrets rules. QV601: a field marked ``x-qv-secret`` must hold SOPS ciphertext, never plaintext.
QV602–QV605 (stage ``files``): encrypted files against ``.sops.yaml`` and their MACs.
QV606: sops ciphertext where sops will not decrypt it: in a file without a ``sops:`` block (here,
per rendered document), or at a key the file's own sops rules leave plain (``secrets.checks``).
Either would be deployed as the ``ENC[…]`` text itself.

Secret fields come from the ``x-qv-secret: true`` marks of the document's JSON Schema
(``qv_config.models`` finds them); a pattern is a field path where ``*`` is any key or index.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

# sops' shape of a value, whatever its type tag says: not plaintext (a tag sops refuses is QV603
# with the key at hand; without sops metadata it is QV606). (Tests import it from here.)
from qv_config.ciphertext import is_ciphertext
from qv_config.findings import Finding, Severity, dotted
from qv_config.validate.registry import rule
from qv_config.validate.types import Issue

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc
    from qv_config.repo.types import Snapshot

SecretPattern = tuple[str, ...]
FieldPath = tuple[str | int, ...]


def field_values(
    value: Any, pattern: SecretPattern, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Each (concrete path, value) under ``value`` that ``pattern`` matches (``*``: any key or
    index); ``path`` is where ``value`` itself is."""
    if not pattern:
        yield path, value
        return
    head, rest = pattern[0], pattern[1:]
    if type(value) is dict or isinstance(value, Mapping):
        keys = list(value) if head == "*" else [head] if head in value else []
        for key in keys:
            yield from field_values(value[key], rest, (*path, key))
    elif isinstance(value, list) and head == "*":
        for index, item in enumerate(value):
            yield from field_values(item, rest, (*path, index))


@rule("QV601", stage="secrets", summary="plaintext in an x-qv-secret field")
def plaintext_secrets(data: Mapping[str, Any], patterns: list[SecretPattern]) -> Iterable[Issue]:
    # No generator for a document without secret fields (nearly all: called for every one).
    return _plaintext_secrets(data, patterns) if patterns else ()


def _plaintext_secrets(data: Mapping[str, Any], patterns: list[SecretPattern]) -> Iterator[Issue]:
    seen: set[tuple[str | int, ...]] = set()
    for pattern in patterns:
        for path in _plain_leaves(data, pattern):
            if path in seen:
                continue
            seen.add(path)
            # Never echo the value: it is a secret in plaintext.
            yield Issue(
                "QV601",
                path,
                f"{'.'.join(map(str, path))} is a secret field holding plaintext; "
                f"encrypt it with `qv secrets encrypt FILE` (SOPS)",
            )


def _plain_leaves(data: Mapping[str, Any], pattern: SecretPattern) -> Iterator[FieldPath]:
    """The leaves of the fields ``pattern`` matches that hold plaintext. A secret list or
    mapping is encrypted by sops leaf by leaf (``qv secrets encrypt`` does so), so each leaf is
    judged, never the container: an empty one or a null holds nothing to encrypt."""
    for path, value in field_values(data, pattern):
        yield from (p for p, v in _leaves(value, path) if v is not None and not is_ciphertext(v))


def _leaves(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    if not isinstance(value, Mapping | list):
        yield path, value
        return
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for key, item in items:
        yield from _leaves(item, (*path, key))


# --- QV606: ciphertext in a file sops does not decrypt (run by the engine per document) -------

STRAY_CIPHERTEXT = "QV606"
_NEEDLE = b'"ENC[AES256_GCM,'


def _may_hold_ciphertext(doc: RenderedDoc) -> bool:
    """A cheap first look before walking a document value by value: its canonical JSON, as
    rendering made it, or one C serialisation."""
    if doc.json is not None:
        return _NEEDLE in doc.json
    try:
        return _NEEDLE in orjson.dumps(doc.data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a value orjson cannot write (e.g. an int beyond 64 bits): walk it
        return True


def _ciphertext_paths(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if is_ciphertext(value):
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _ciphertext_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _ciphertext_paths(item, (*path, index))


def stray_ciphertexts(doc: RenderedDoc, encrypted: Collection[str]) -> list[Finding]:
    """QV606 for each sops ciphertext of ``doc`` that nothing decrypts, so that it is not a
    secret but text: set by a file that is not ``encrypted`` (has no ``sops:`` block), or built
    by a template in one that is (sops decrypts a file's values as the file holds them, never
    what a template makes of them)."""
    if not _may_hold_ciphertext(doc):
        return []
    from qv_config.validate.engine import to_finding

    found = []
    written: dict[str, set[tuple[str | int, str]]] = {}
    for path in _ciphertext_paths(doc.data, ()):
        finding = to_finding(doc, Issue(STRAY_CIPHERTEXT, path, _NO_SOPS.format(dotted(path))))
        if finding.file not in encrypted:
            found.append(finding)
        elif (path[-1], _at(doc.data, path)) not in _written(doc, finding.file, written):
            message = _TEMPLATED.format(dotted(path))
            found.append(to_finding(doc, Issue(STRAY_CIPHERTEXT, path, message)))
    return found


_NO_SOPS = (
    "{} holds sops ciphertext, but this file has no sops metadata: nothing can decrypt it and"
    " it would be deployed as that text; put the plaintext back and run `qv secrets encrypt"
    " FILE`, or restore the file's sops: block"
)
_TEMPLATED = (
    "{} holds sops ciphertext that a template built: sops decrypts only the values a file holds"
    " as written, so it would be deployed as that text; write the plaintext and run `qv secrets"
    " encrypt FILE`"
)


def _at(data: Any, path: FieldPath) -> Any:
    for step in path:
        data = data[step]
    return data


def _written(
    doc: RenderedDoc, file: str, cache: dict[str, set[tuple[str | int, str]]]
) -> set[tuple[str | int, str]]:
    """(key, ciphertext) of each ciphertext ``file`` holds as written, in the layers of ``doc``
    it is: a rendered ciphertext absent from them was made by a template."""
    if file not in cache:
        layers = [layer.doc.data for layer in doc.layers if layer.doc.path == file]
        cache[file] = {
            (p[-1], _at(data, p)) for data in layers for p in _ciphertext_paths(data, ())
        }
    return cache[file]


# --- encrypted files (stage "files": run once per validation over the snapshot) --------------


@rule(
    "QV602",
    stage="files",
    severity=Severity.WARNING,
    summary="encrypted file's recipients differ from what .sops.yaml names (qv secrets rotate)",
)
@rule("QV603", stage="files", summary="encrypted file whose values or MAC do not verify")
@rule("QV604", stage="files", summary="file encrypted only to keys no .sops.yaml rule names")
@rule("QV605", stage="files", summary=".sops.yaml missing (files are encrypted) or malformed")
def encrypted_files(snapshot: Snapshot, envs: Sequence[str]) -> list[Finding]:
    """Recipients against ``.sops.yaml`` and MACs (with the key at hand) of encrypted files."""
    if not snapshot.encrypted:  # nothing to check: spare the run importing the secrets package
        return []
    from qv_config.secrets.checks import file_findings, validation_ring
    from qv_config.secrets.snapshot import encrypted_paths

    paths = encrypted_paths(snapshot, envs)
    if not paths:
        return []
    return list(file_findings(snapshot, paths, validation_ring()))
