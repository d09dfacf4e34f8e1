"""``qv secrets check``: secrets about to leak, for a pre-commit hook or CI.

- the secrets findings of validation (QV601 plaintext in an ``x-qv-secret`` field, QV602–QV606)
  of the files named (or of all);
- ``QV607``: plaintext at a key that the file's ``.sops.yaml`` creation rule encrypts
  (``encrypted_regex``): the file matches the rule's ``path_regex``, so sops would have
  encrypted the value, but it is there in plaintext (the file was never encrypted, or a value
  was added to it by hand). Schemas need not mark it: the rule is the team's own word.

Messages name the file, the field and the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from qv_config.findings import Finding, Severity, dotted
from qv_config.repo.types import Snapshot
from qv_config.secrets.config import CONFIG_NAME, CreationRule
from qv_config.secrets.regex import searches
from qv_config.validate.types import ValidationResult
from qv_config.yamlio import LoadedDoc
from qv_config.yamlio.types import FieldPath

PLAINTEXT_BY_RULE = "QV607"
_SECRETS_CODES = "QV6"


def leak_check(
    root: Path, paths: Sequence[str] = ()
) -> tuple[ValidationResult, Callable[[str], bytes | None]]:
    """The secrets findings of the work tree at ``root``, only in files under ``paths`` when
    given (repository-relative; one that matches no file qv reads is a ``UsageError`` as for
    ``qv validate``), and the reader of the tree's files. An error means something would leak."""
    from qv_config.repo import WorkTreeSource, load_snapshot
    from qv_config.secrets.checks import load_rules
    from qv_config.validate.worktree import validate_worktree

    result, read = validate_worktree(root, None, paths)
    found = [f for f in result.findings if f.code.startswith(_SECRETS_CODES)]
    snapshot = load_snapshot(WorkTreeSource(root))
    config, bad = load_rules(snapshot)
    if config is not None and bad is None:
        found += plaintext_by_rule(snapshot, config.rules, paths)
    found = sorted(set(found), key=Finding.sort_key)
    errors = sum(1 for f in found if f.is_error)
    warnings = len(found) - errors
    return replace(result, findings=tuple(found), errors=errors, warnings=warnings), read


def plaintext_by_rule(
    snapshot: Snapshot, rules: Sequence[CreationRule], paths: Sequence[str] = ()
) -> list[Finding]:
    """QV607 for every plaintext value a file's creation rule says sops encrypts."""
    from qv_config.validate.paths import normalise, under  # PATH as `qv validate` reads it

    out: list[Finding] = []
    prefixes = normalise(paths)
    for path, doc in _loaded(snapshot):
        if prefixes and not under(path, prefixes):
            continue
        rule = next((r for r in rules if r.matches(path)), None)
        if rule is None or not rule.encrypted_regex:
            continue
        encrypted = path in snapshot.encrypted
        for field in _plaintexts(doc.data, rule.encrypted_regex):
            out.append(_finding(path, doc, field, rule, encrypted))
    return out


def _loaded(snapshot: Snapshot) -> Iterator[tuple[str, LoadedDoc]]:
    yield from ((doc.path, doc) for doc in snapshot.templates.values())
    yield from snapshot.bases.items()
    for files in snapshot.environments.values():
        if files.environment is not None:
            yield files.environment.path, files.environment
        yield from files.documents.items()
        yield from ((doc.path, doc) for doc in files.overlays.values())


def _plaintexts(data: Any, pattern: str, path: FieldPath = ()) -> Iterator[FieldPath]:
    """Paths of plaintext values under a key ``pattern`` matches (sops encrypts every value
    beneath such a key); sops' own ``sops`` block is not data."""
    from qv_config.ciphertext import is_ciphertext

    if isinstance(data, Mapping):
        for key, value in data.items():
            if not path and key == "sops":
                continue
            if isinstance(key, str) and searches(pattern, key):
                yield from _values((*path, key), value, is_ciphertext)
            else:
                yield from _plaintexts(value, pattern, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _plaintexts(item, pattern, (*path, index))


def _values(path: FieldPath, value: Any, ciphertext: Any) -> Iterator[FieldPath]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _values((*path, key), item, ciphertext)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _values((*path, index), item, ciphertext)
    elif value is not None and not ciphertext(value):
        yield path


def _finding(
    path: str, doc: LoadedDoc, field: FieldPath, rule: CreationRule, encrypted: bool
) -> Finding:
    mark = doc.key_position(field)  # the key: reporters mask what follows it on the line
    fix = f"qv secrets edit {path}" if encrypted else f"qv secrets encrypt {path}"
    message = (
        f"{dotted(field)} holds plaintext, but the {CONFIG_NAME} rule of line {rule.line} "
        f"encrypts keys matching {rule.encrypted_regex} in this file; run `{fix}`"
    )
    line, col = (mark.line, mark.col) if mark is not None else (0, 0)
    return Finding(PLAINTEXT_BY_RULE, message, path, line, col, Severity.ERROR, field=dotted(field))
