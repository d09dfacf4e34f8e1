"""Secrets: SOPS-encrypted fields with age keys (SPEC §8).

Public API (heavy crypto imports are deferred into the functions that need them):

- ``is_ciphertext(value)``; ``split_sops_metadata(data) -> (document, SopsMeta | None)``
- ``decrypt_documents(paths | {label: text}, key_file=None, ring=None) -> {label: data}``
  (in-process, MAC-checked; ``decrypt_data`` / ``decrypt_source`` for one document)
- ``verify_mac(path | text, key_file=None) -> True`` or ``CheckFailed`` naming the file
- ``recipients_of(path | text) -> set[str]``; ``recipients_for(path, sops_config) -> set[str]``
- ``compare_secret(old_ct, new_ct, key, path) -> "changed" | "unchanged" | "no key"``;
  ``data_key_of(data, ring)`` gives the key
- ``KeyRing`` (identities + data-key cache); ``generate_identity()``, ``key_file_text()``
- file operations through sops: ``encrypt_file``, ``decrypt_file``, ``edit_file``, ``rotate_file``
- over a snapshot: ``decrypt_snapshot(snapshot, key_file=None, envs=None) -> Snapshot`` (what
  render --decrypt, sync, drift, rollback and the agent call); ``secret_change(...)`` for diffs
- validation: ``checks.file_findings`` (QV602–QV605), registered in validate/rules/secrets.py
"""

from qv_config.secrets.agekeys import AgeIdentity, generate_identity, key_file_text
from qv_config.secrets.config import SopsConfig, load_config, recipients_for
from qv_config.secrets.decrypt import (
    compare_secret,
    data_key_of,
    decrypt_data,
    decrypt_documents,
    decrypt_source,
    recipients_of,
    verify_mac,
)
from qv_config.secrets.keyring import KeyRing
from qv_config.secrets.ops import decrypt_file, edit_file, encrypt_file, rotate_file
from qv_config.secrets.snapshot import (
    NO_KEY_TO_COMPARE,
    SECRET_CHANGED,
    decrypt_snapshot,
    secret_change,
)
from qv_config.secrets.sopsfile import SopsMeta, is_ciphertext, split_sops_metadata

__all__ = [
    "NO_KEY_TO_COMPARE",
    "SECRET_CHANGED",
    "AgeIdentity",
    "KeyRing",
    "SopsConfig",
    "SopsMeta",
    "compare_secret",
    "data_key_of",
    "decrypt_data",
    "decrypt_documents",
    "decrypt_file",
    "decrypt_snapshot",
    "decrypt_source",
    "edit_file",
    "encrypt_file",
    "generate_identity",
    "is_ciphertext",
    "key_file_text",
    "load_config",
    "recipients_for",
    "recipients_of",
    "rotate_file",
    "secret_change",
    "split_sops_metadata",
    "verify_mac",
]
