"""Secrets over a whole ``Snapshot``: decrypting what an environment renders, comparing secrets.

``decrypt_snapshot`` is the one function every plaintext consumer calls (``qv render --decrypt``,
``qv sync``, ``qv drift``, ``qv rollback`` and the agent through ``store.source.render_desired``):
it returns a new snapshot whose documents hold plaintext and leaves the original untouched.
Validation and every on-disk cache must run on the *encrypted* snapshot: a decrypted one exists
only in memory, and its documents carry a digest of their own so no cache keyed by content hash
can mistake one for the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qv_config.secrets.decrypt import decrypt_data
from qv_config.secrets.keyring import KeyRing
from qv_config.yamlio.types import Plaintext, ReplaceDict, ReplaceList

if TYPE_CHECKING:
    from qv_config.repo.types import EnvFiles, Snapshot
    from qv_config.yamlio import LoadedDoc

SecretChange = Literal["(secret changed)", "(encrypted; no key to compare)"]
SECRET_CHANGED: SecretChange = "(secret changed)"
NO_KEY_TO_COMPARE: SecretChange = "(encrypted; no key to compare)"
_PLAIN_SUFFIX = "+decrypted"  # appended to a decrypted document's digest


def env_of(path: str) -> str | None:
    """The environment a repository path belongs to (None: a base or template, every env)."""
    if not path.startswith("environments/"):
        return None
    parts = path.split("/", 2)
    return parts[1] if len(parts) == 3 else None


def encrypted_paths(snapshot: Snapshot, envs: Iterable[str] | None = None) -> list[str]:
    """Encrypted files that environments ``envs`` (default: all) render from, sorted."""
    wanted = None if envs is None else set(envs)
    return sorted(
        path
        for path in snapshot.encrypted
        if wanted is None or env_of(path) is None or env_of(path) in wanted
    )


def decrypt_snapshot(
    snapshot: Snapshot,
    key_file: Path | None = None,
    *,
    envs: Iterable[str] | None = None,
    ring: KeyRing | None = None,
) -> Snapshot:
    """A snapshot whose documents hold plaintext for every encrypted file ``envs`` render from.

    The key comes from ``ring``, else ``key_file``, else ``SOPS_AGE_KEY_FILE`` (then sops' default
    key file). A file no key opens raises ``OperationalError`` (exit 3) naming its recipients; a
    tampered value, type tag, MAC or key stanza raises ``Tampered`` (exit 1) naming the file
    and the field. Messages never hold a value. Returns ``snapshot`` itself when nothing is
    encrypted.
    """
    paths = encrypted_paths(snapshot, envs)
    if not paths:
        return snapshot
    keys = ring if ring is not None else KeyRing.from_file(key_file)
    plain = {
        path: decrypt_data(path, snapshot.encrypted[path], keys, _reader(snapshot, path))
        for path in paths
    }
    return _with_plaintext(snapshot, plain)


def _reader(snapshot: Snapshot, path: str) -> Callable[[], bytes | None]:
    """Reads the file's bytes only if sops must double-check a MAC mismatch."""
    return lambda: snapshot.read(path)


def _with_plaintext(snapshot: Snapshot, plain: Mapping[str, Any]) -> Snapshot:
    def swap(docs: Mapping[str, LoadedDoc]) -> Mapping[str, LoadedDoc]:
        if not any(doc.path in plain for doc in docs.values()):
            return docs  # shared, not copied: most mappings hold no secret
        return {key: _plain_doc(doc, plain) for key, doc in docs.items()}

    envs = {name: _swap_env(files, swap, plain) for name, files in snapshot.environments.items()}
    return replace(
        snapshot, templates=swap(snapshot.templates), bases=swap(snapshot.bases), environments=envs
    )


def _swap_env(files: EnvFiles, swap: Any, plain: Mapping[str, Any]) -> EnvFiles:
    main = files.environment
    documents, overlays = swap(files.documents), swap(files.overlays)
    touched = main is not None and main.path in plain
    if not touched and documents is files.documents and overlays is files.overlays:
        return files  # shared: this environment holds no secret
    return replace(
        files,
        environment=_plain_doc(main, plain) if main is not None else None,
        documents=documents,
        overlays=overlays,
    )


def _plain_doc(doc: LoadedDoc, plain: Mapping[str, Any]) -> LoadedDoc:
    if doc.path not in plain:
        return doc
    # Same text (positions stay right), other data and a digest of its own (see module doc).
    data = _retype(doc.data, plain[doc.path])
    return replace(doc, data=data, digest=doc.digest + _PLAIN_SUFFIX, _positions=None)


def _retype(shape: Any, plain: Any) -> Any:
    """``plain`` with the ``!replace`` container types of ``shape`` (decryption drops them), each
    text that was ciphertext in ``shape`` marked ``Plaintext``: a secret is data, never a
    template (docs/secrets.md)."""
    if isinstance(shape, dict) and isinstance(plain, dict):
        out = {key: _retype(shape.get(key), value) for key, value in plain.items()}
        return ReplaceDict(out) if isinstance(shape, ReplaceDict) else out
    if isinstance(shape, list) and isinstance(plain, list) and len(shape) == len(plain):
        items = [_retype(a, b) for a, b in zip(shape, plain, strict=True)]
        return ReplaceList(items) if isinstance(shape, ReplaceList) else items
    if isinstance(plain, str) and isinstance(shape, str) and shape.startswith("ENC["):
        return Plaintext(plain)
    return plain


# --- comparing secrets for diffs ---------------------------------------------------------------


class _Openings:
    """ciphertext -> plaintext of every encrypted file opened so far, per snapshot."""

    def __init__(self) -> None:
        # keyed by id(snapshot), checked through a weak reference: an id is reused after GC
        self._snapshots: dict[int, tuple[Any, dict[str, dict[str, Any] | None]]] = {}

    def plaintext(
        self, snapshot: Snapshot | None, path: str, value: Any, ring: KeyRing | None
    ) -> tuple[bool, Any]:
        """(known, plaintext) of ``value`` as found in file ``path`` of ``snapshot``."""
        from qv_config.secrets.sopsfile import is_ciphertext

        if not is_ciphertext(value):
            return True, value  # plaintext (or absent): comparable as it is
        if snapshot is None or ring is None:
            return False, None
        table = self._table(snapshot, path, ring)
        if table is None or value not in table:
            return False, None
        return True, table[value]

    def _table(self, snapshot: Snapshot, path: str, ring: KeyRing) -> dict[str, Any] | None:
        import weakref

        key = id(snapshot)
        entry = self._snapshots.get(key)
        if entry is None or entry[0]() is not snapshot:
            ref = weakref.ref(snapshot, lambda _ref: self._snapshots.pop(key, None))
            entry = self._snapshots[key] = (ref, {})
        files, slot = entry[1], f"{id(ring)}:{path}"
        if slot not in files:
            files[slot] = _open_file(snapshot.encrypted.get(path), ring, path)
        return files[slot]


def _open_file(data: Mapping[str, Any] | None, ring: KeyRing, label: str) -> dict[str, Any] | None:
    """Map each ciphertext of a file to its plaintext (None: not encrypted, or no key).

    A value that does not open with the file's own data key was altered: ``Tampered`` (exit 1)
    naming the field, as ``render --decrypt`` says it.
    """
    from qv_config.secrets.sopsfile import CipherError, decrypt_tree, split_sops_metadata
    from qv_config.secrets.tamper import tampered

    if data is None:
        return None
    document, meta = split_sops_metadata(data, label)
    key = ring.data_key(meta, label) if meta is not None else None
    if meta is None or key is None:
        return None
    try:
        plain, _mac_ok = decrypt_tree(document, meta, key)  # a diff shows no value: MAC not needed
    except CipherError as bad:
        raise tampered(label, bad) from None
    table: dict[str, Any] = {}
    _pair(document, plain, table)
    return table


def open_ciphertexts(
    data: Mapping[str, Any], ring: KeyRing, label: str = "<text>"
) -> dict[str, Any] | None:
    """Each ciphertext of a loaded sops file (with its ``sops`` block) -> its plaintext.

    None when the file is not encrypted or no key of ``ring`` opens it; ``Tampered`` (naming
    ``label`` and the field) when a value does not open with the file's data key. For comparing
    secrets in memory (``qv diff``): the MAC is not checked, since no value is shown.
    """
    return _open_file(data, ring, label)


def _pair(cipher: Any, plain: Any, table: dict[str, Any]) -> None:
    if isinstance(cipher, Mapping) and isinstance(plain, Mapping):
        for key, value in cipher.items():
            _pair(value, plain.get(key), table)
    elif isinstance(cipher, list) and isinstance(plain, list):
        for a, b in zip(cipher, plain, strict=False):
            _pair(a, b, table)
    elif isinstance(cipher, str) and cipher.startswith("ENC["):
        table[cipher] = plain


_OPENINGS = _Openings()


def secret_change(
    old_doc_path: str | None,
    old_value: Any,
    new_doc_path: str | None,
    new_value: Any,
    snapshot_old: Snapshot | None,
    snapshot_new: Snapshot | None,
    ring: KeyRing | None,
) -> SecretChange | None:
    """How a diff reports a secret field: never its value.

    ``*_doc_path`` is the repository path of the file that set the field on each side (the
    layer ``RenderedDoc.locate`` names), ``*_value`` the rendered value (ciphertext, or None when
    absent), ``ring`` the keys at hand (``KeyRing.from_file()``; None: none). Returns None when the
    secret is unchanged (equal ciphertext, or different ciphertext of the same plaintext, e.g.
    after ``qv secrets rotate``), ``"(secret changed)"`` when the plaintexts differ (compared in
    memory, never shown) or the field was added or removed, and ``"(encrypted; no key to
    compare)"`` when the ciphertexts differ and a side cannot be opened with the keys at hand.
    """
    if old_value == new_value:
        return None
    if old_value is None or new_value is None:
        return SECRET_CHANGED
    known_old, plain_old = _OPENINGS.plaintext(snapshot_old, old_doc_path or "", old_value, ring)
    known_new, plain_new = _OPENINGS.plaintext(snapshot_new, new_doc_path or "", new_value, ring)
    if not (known_old and known_new):
        return NO_KEY_TO_COMPARE
    return None if plain_old == plain_new else SECRET_CHANGED
