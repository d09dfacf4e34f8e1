"""Findings about encrypted files that the core's validation reports (QV602–QV606).

- ``QV602`` warning: a file is encrypted to recipients other than those its ``.sops.yaml`` rule
  names now (someone was added or removed, the file not re-encrypted): `qv secrets rotate`.
- ``QV603`` error: an encrypted file whose values, ``type:`` tags, MAC or age key stanzas do not
  verify (altered outside sops), at the value to blame when there is one; or whose ``sops:``
  block ``sops -d`` refuses (``sopsmeta``), at that field, key or no key. Verifying needs the
  file's data key: without a key at hand nothing is reported — CI verifies MACs where it holds
  the key (``SOPS_AGE_KEY_FILE``).
- ``QV604`` error: a file encrypted only to keys no rule names for its path (or no rule matches
  it): whoever the rule trusts — the environment's agent included — cannot decrypt it.
- ``QV605`` error: ``.sops.yaml`` is missing (while files are encrypted) or malformed.
- ``QV606`` error: sops ciphertext at a key the file's own sops rules leave plain (sops never
  decrypts it). The same code for ciphertext in a file without ``sops:`` is the engine's
  (``validate.rules.secrets.stray_ciphertexts``).

Messages name files, rules and public recipients, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from qv_config.errors import CheckFailed, OperationalError
from qv_config.findings import Finding, Severity
from qv_config.secrets.config import CONFIG_NAME, SopsConfig, SopsConfigError, parse_config
from qv_config.secrets.sopsfile import SopsMeta, split_sops_metadata

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot
    from qv_config.secrets.keyring import KeyRing
    from qv_config.secrets.tamper import Tampered
    from qv_config.yamlio.types import Mark

STALE_RECIPIENTS = "QV602"
MAC_MISMATCH = "QV603"
FOREIGN_RECIPIENTS = "QV604"
BAD_SOPS_CONFIG = "QV605"
STRAY_CIPHERTEXT = "QV606"


def recipient_finding(
    relative: str, meta: SopsMeta | None, config: SopsConfig | None, env: str | None = None
) -> Finding | None:
    """QV604 when no key the rule names can open the file, QV602 when the sets merely differ."""
    if meta is None or config is None:
        return None
    rule = next((r for r in config.rules if r.matches(relative)), None)
    want = set(rule.age) if rule else set()
    have = set(meta.recipients)
    if have == want:
        return None
    if not want:
        message = (
            f"encrypted to {', '.join(sorted(have)) or 'no age recipient'}, but no creation rule"
            f" in {CONFIG_NAME} names recipients for this path; add a rule, then run"
            f" `qv secrets rotate {relative}`"
        )
        return Finding(FOREIGN_RECIPIENTS, message, relative, severity=Severity.ERROR, env=env)
    if not have & want:
        message = (
            f"encrypted only to keys no rule names ({', '.join(sorted(have)) or 'none'}); the"
            f" rule names {', '.join(sorted(want))}, whose holders cannot decrypt it: run"
            f" `qv secrets rotate {relative}` with a key that opens it"
        )
        return Finding(FOREIGN_RECIPIENTS, message, relative, severity=Severity.ERROR, env=env)
    parts = [
        f"{label} {', '.join(sorted(keys))}"
        for label, keys in (("missing", want - have), ("no longer named", have - want))
        if keys
    ]
    message = (
        f"encrypted to recipients other than {CONFIG_NAME} names ({'; '.join(parts)});"
        f" run `qv secrets rotate {relative}`"
    )
    return Finding(STALE_RECIPIENTS, message, relative, severity=Severity.WARNING, env=env)


def _sops_line(snapshot: Snapshot, path: str) -> int:
    """Line of the file's top-level ``sops:`` key (where the metadata the finding is about is)."""
    raw = snapshot.read(path) or b""
    if raw.startswith(b"sops:"):
        return 1
    at = raw.find(b"\nsops:")
    return raw.count(b"\n", 0, at) + 2 if at >= 0 else 0


def load_rules(snapshot: Snapshot) -> tuple[SopsConfig | None, Finding | None]:
    """The snapshot's ``.sops.yaml`` (None when absent) or a QV605 finding when malformed."""
    raw = snapshot.read(CONFIG_NAME)
    if raw is None:
        return None, None
    try:
        return parse_config(snapshot.root / CONFIG_NAME, raw.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, Finding(BAD_SOPS_CONFIG, f"{CONFIG_NAME} is not UTF-8", CONFIG_NAME)
    except SopsConfigError as bad:
        return None, Finding(
            BAD_SOPS_CONFIG, bad.detail, CONFIG_NAME, bad.line, 1 if bad.line else 0
        )


def mac_finding(
    snapshot: Snapshot, path: str, data: Mapping[str, Any], ring: KeyRing, env: str | None
) -> Finding | None:
    """QV603 when the file's values, MAC or key stanzas do not verify; None when fine or when no
    key of ``ring`` is one of its recipients (nothing to verify with)."""
    from qv_config.secrets.decrypt import decrypt_data
    from qv_config.secrets.tamper import Tampered

    try:
        _, meta = split_sops_metadata(data, path)
        if meta is None or ring.data_key(meta, path) is None:
            return None  # no key at hand: nothing to verify with (documented)
        decrypt_data(path, data, ring, lambda: snapshot.read(path))
    except Tampered as bad:
        return _tamper_finding(snapshot, path, bad, env)
    except (CheckFailed, OperationalError):
        return _tamper_finding(snapshot, path, None, env)
    return None


def _tamper_finding(
    snapshot: Snapshot, path: str, bad: Tampered | None, env: str | None
) -> Finding:
    """QV603 at the value to blame (its key's line) when one is, else at the ``sops:`` block;
    naming the field and never the value."""
    from qv_config.findings import dotted

    restore = "restore it from Git, or re-create the secret with `qv secrets edit`"
    if bad is not None and bad.field:
        field = dotted(bad.field)
        message = f"{field} does not verify: {bad.reason}; it was altered outside sops; {restore}"
        mark = _field_mark(snapshot, path, bad.field)
        if mark is not None:
            return Finding(
                MAC_MISMATCH, message, path, mark.line, mark.col, Severity.ERROR, env, field=field
            )
    elif bad is not None and bad.reason:  # a key stanza
        field, message = "", f"{bad.reason}: it was altered outside sops; {restore}"
    else:
        field = ""
        message = (
            "values or MAC of this encrypted file do not verify: it was altered outside sops;"
            f" {restore}"
        )
    line = _sops_line(snapshot, path)
    col = 1 if line else 0
    return Finding(MAC_MISMATCH, message, path, line, col, Severity.ERROR, env, field=field)


def _field_mark(snapshot: Snapshot, path: str, field: tuple[str | int, ...]) -> Mark | None:
    from qv_config.yamlio import YamlError
    from qv_config.yamlio.loader import positions_of

    try:
        positions = positions_of(path, snapshot.read(path) or b"")
    except YamlError:
        return None
    return positions.get(("__key__", *field)) or positions.get(field)


def file_findings(
    snapshot: Snapshot, paths: Iterable[str], ring: KeyRing | None
) -> Iterator[Finding]:
    """QV602–QV606 for the encrypted files ``paths`` of ``snapshot``."""
    from qv_config.secrets.snapshot import env_of
    from qv_config.secrets.tamper import Tampered

    todo = list(paths)
    if not todo:
        return
    config, problem = load_rules(snapshot)
    if problem is not None:
        yield problem
    elif config is None:
        yield Finding(
            BAD_SOPS_CONFIG,
            f"{len(todo)} file(s) are SOPS-encrypted but the repository has no {CONFIG_NAME};"
            " add one with a creation rule per environment",
            CONFIG_NAME,
        )
    for path in todo:
        data, env = snapshot.encrypted[path], env_of(path)
        try:
            document, meta = split_sops_metadata(data, path)
        except Tampered as bad:  # metadata sops refuses: the file is never decrypted
            yield _tamper_finding(snapshot, path, bad, env)
            continue
        found = recipient_finding(path, meta, config, env)
        if found is not None:
            line = _sops_line(snapshot, path)
            yield _at(found, line)
        if meta is not None:
            yield from _unselected(snapshot, path, document, meta, env)
        if ring is not None and (mac := mac_finding(snapshot, path, data, ring, env)):
            yield mac


def _unselected(
    snapshot: Snapshot, path: str, document: Any, meta: SopsMeta, env: str | None
) -> Iterator[Finding]:
    """QV606 for ciphertext at keys the file's sops rules leave plain (never decrypted)."""
    from qv_config.findings import dotted
    from qv_config.secrets.sopsfile import unselected_ciphertexts

    for field_path in unselected_ciphertexts(document, meta):
        field = dotted(field_path)
        message = (
            f"{field} holds sops ciphertext at a key this file's sops rules do not encrypt"
            " (encrypted_regex and the like in its sops: block): sops leaves it as it is, so"
            " it would be deployed as that text; set the plaintext with `qv secrets edit`"
        )
        mark = _field_mark(snapshot, path, field_path)
        line, col = (mark.line, mark.col) if mark else (0, 0)
        yield Finding(STRAY_CIPHERTEXT, message, path, line, col, Severity.ERROR, env, field=field)


def _at(finding: Finding, line: int) -> Finding:
    from dataclasses import replace

    return replace(finding, line=line, col=1 if line else 0)


def validation_ring() -> KeyRing | None:
    """The keys validation may verify MACs with: ``SOPS_AGE_KEY_FILE`` (or sops' default file).

    None when no key is configured. A configured key file that is missing or not a key file is a
    ``UsageError`` (exit 2), one the system will not read an ``OperationalError`` (exit 3):
    silently skipping verification would hide a CI misconfiguration.
    """
    import os

    from qv_config.secrets.keyring import KeyRing, default_key_file

    if default_key_file() is None and not os.environ.get("SOPS_AGE_KEY"):
        return None
    ring = KeyRing.from_file(None)
    return ring if ring.identities else None


__all__ = [
    "BAD_SOPS_CONFIG",
    "FOREIGN_RECIPIENTS",
    "MAC_MISMATCH",
    "STALE_RECIPIENTS",
    "STRAY_CIPHERTEXT",
    "file_findings",
    "load_rules",
    "mac_finding",
    "recipient_finding",
    "validation_ring",
]
