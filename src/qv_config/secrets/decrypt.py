"""Decrypting many documents fast, verifying MACs, comparing secrets without showing them.

Decryption runs in-process (age unwrap + AES-256-GCM, see ``agekeys``/``sopsfile``): one parse
and a few microseconds of crypto per file instead of one ``sops`` process per file. When the
in-process MAC check fails, ``sops`` itself is asked before a file is called tampered: it is the
authority on its format, and a YAML scalar read differently by the two parsers must never turn
into a false alarm. Tests prove equality with ``sops decrypt`` on the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from qv_config.secrets.binary import run_sops
from qv_config.secrets.keyring import KeyRing
from qv_config.secrets.sopsfile import (
    CipherError,
    Comparison,
    SopsMeta,
    decrypt_tree,
    decrypt_value,
    retyped_value,
    split_sops_metadata,
)
from qv_config.secrets.tamper import tampered

Source = Path | str | bytes
RawBytes = bytes | Callable[[], bytes | None] | None


def _load(label: str, raw: bytes) -> Any:
    from qv_config.yamlio import load_bytes

    return load_bytes(label, raw).data


def read_source(source: Source, label: str | None = None) -> tuple[str, bytes]:
    """(label, bytes) of a path or of text given directly."""
    if isinstance(source, Path):
        return label or str(source), source.read_bytes()
    raw = source.encode("utf-8") if isinstance(source, str) else source
    return label or "<text>", raw


def recipients_of(file: Source) -> set[str]:
    """The age recipients a sops file is encrypted to (empty: not encrypted)."""
    label, raw = read_source(file)
    _, meta = split_sops_metadata(_load(label, raw), label)
    return set(meta.recipients) if meta else set()


def _confirm_with_sops(label: str, raw: bytes, ring: KeyRing) -> Any | None:
    """Ask sops: plaintext data if it accepts the file, None when it refuses it (its messages
    are never relayed: for a value whose tag was edited they quote the plaintext)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qv-sops-") as tmp:
        key_file = Path(tmp) / "keys.txt"
        key_file.write_text("".join(f"{i.encoded()}\n" for i in ring.identities))
        key_file.chmod(0o600)
        target = Path(tmp) / "doc.yaml"
        target.write_bytes(raw)
        done = run_sops(["decrypt", str(target)], cwd=Path(tmp), key_file=key_file)
    return _load(label, done.stdout) if done.returncode == 0 else None


def decrypt_data(label: str, data: Any, ring: KeyRing, raw: RawBytes = None) -> Any:
    """Plaintext of already-loaded ``data`` (with its ``sops:`` block removed).

    Raises ``OperationalError`` (exit 3) when no key opens it and ``CheckFailed`` (exit 1) when
    a value or the MAC does not authenticate. ``raw`` (the file's bytes, or a function reading
    them only when needed) lets sops double-check a MAC mismatch; without it a mismatch is
    reported as tampering.
    """
    document, meta = split_sops_metadata(data, label)
    if meta is None:
        return document
    key = ring.require_key(meta, label)
    try:
        plain, mac_ok = decrypt_tree(document, meta, key)
    except CipherError as bad:
        raise tampered(label, bad) from None
    if mac_ok:
        return plain
    raw_bytes = raw() if callable(raw) else raw
    confirmed = _confirm_with_sops(label, raw_bytes, ring) if raw_bytes is not None else None
    if confirmed is None:
        raise tampered(label, retyped_value(document, meta, key))
    return confirmed


def decrypt_source(source: Source, ring: KeyRing, label: str | None = None) -> Any:
    name, raw = read_source(source, label)
    return decrypt_data(name, _load(name, raw), ring, raw)


def decrypt_documents(
    sources: Iterable[Path] | Mapping[str, str | bytes],
    key_file: Path | None = None,
    *,
    ring: KeyRing | None = None,
) -> dict[str, Any]:
    """Plaintext data of many files: ``{label: data}`` (label: the path, or the mapping's key).

    Files without a ``sops:`` block come back as loaded. One pass, no process per file; data
    keys are cached in ``ring`` across calls (pass the same ring to reuse them).
    """
    keys = ring if ring is not None else KeyRing.from_file(key_file)
    if isinstance(sources, Mapping):
        return {label: decrypt_source(text, keys, label) for label, text in sources.items()}
    return {str(path): decrypt_source(path, keys) for path in sources}


def verify_mac(
    source: Source,
    key_file: Path | None = None,
    *,
    ring: KeyRing | None = None,
    label: str | None = None,
) -> bool:
    """True when the file's values and MAC authenticate; ``CheckFailed`` naming the file if not.

    A plaintext file (no ``sops:`` block) verifies trivially.
    """
    keys = ring if ring is not None else KeyRing.from_file(key_file)
    decrypt_source(source, keys, label)
    return True


def compare_secret(
    old_ct: Any,
    new_ct: Any,
    key: bytes | tuple[bytes | None, bytes | None] | None,
    path: Iterable[str] = (),
) -> Comparison:
    """Whether a secret changed, for diffs that must never show it.

    ``key`` is the data key of the file(s) (one for both, or ``(old, new)``); ``path`` is the
    field's mapping keys in the file (its AES-GCM additional data). Equal ciphertext is
    "unchanged" without any key (sops keeps a value's IV while its plaintext is unchanged).
    """
    if old_ct == new_ct:
        return "unchanged"
    old_key, new_key = key if isinstance(key, tuple) else (key, key)
    if old_key is None or new_key is None:
        return "no key"
    aad = ":".join(path) + ":"
    try:
        old = _open(old_ct, old_key, aad)
        new = _open(new_ct, new_key, aad)
    except CipherError:
        return "no key"  # the key given is not the one these values were encrypted with
    return "unchanged" if old == new else "changed"


def _open(value: Any, key: bytes, aad: str) -> Any:
    from qv_config.secrets.sopsfile import is_ciphertext

    return decrypt_value(value, key, aad) if is_ciphertext(value) else value


def data_key_of(data: Any, ring: KeyRing) -> bytes | None:
    """The data key of a loaded sops document, for ``compare_secret`` (None: no key)."""
    _, meta = split_sops_metadata(data)
    return ring.data_key(meta) if isinstance(meta, SopsMeta) else None
