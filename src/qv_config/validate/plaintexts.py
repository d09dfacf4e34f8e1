"""The plaintext of the secrets a validation run may open, for checking them against the schema.

Validation runs on ciphertext (SPEC §8). With a key at hand (``SOPS_AGE_KEY_FILE``, as for the
MAC checks of QV603), the schema stage checks a secret field's plaintext instead, in memory only:
messages never quote it (``schemaerrors``), and what a run finds depends on the keys it had, so
``signature`` joins every cache key. Files are opened through ``qv_config.secrets``, each once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qv_config.errors import CheckFailed

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc
    from qv_config.repo.types import Snapshot
    from qv_config.secrets.keyring import KeyRing


class Plaintexts:
    """Ciphertext -> plaintext of the encrypted files of one snapshot that ``ring`` opens."""

    def __init__(self, encrypted: Mapping[str, Any], ring: KeyRing) -> None:
        self._encrypted = encrypted
        self._ring = ring
        self._tables: dict[str, Mapping[str, Any]] = {}
        recipients = "\n".join(sorted(ring.recipients))
        self.signature = hashlib.blake2b(recipients.encode(), digest_size=16).hexdigest()

    @classmethod
    def for_snapshot(cls, snapshot: Snapshot) -> Plaintexts | None:
        """The openings of ``snapshot`` with the keys validation uses; None without encrypted
        files or without a key (a key file that is named but unreadable is exit 3)."""
        if not snapshot.encrypted:
            return None
        from qv_config.secrets.checks import validation_ring

        ring = validation_ring()
        return cls(snapshot.encrypted, ring) if ring is not None else None

    def of(self, doc: RenderedDoc) -> Mapping[str, Any]:
        """Ciphertext -> plaintext of every encrypted layer of ``doc`` that opens."""
        found: dict[str, Any] = {}
        for layer in doc.layers:
            if layer.doc.path in self._encrypted:
                found.update(self._table(layer.doc.path))
        return found

    def _table(self, path: str) -> Mapping[str, Any]:
        if path not in self._tables:
            from qv_config.secrets.snapshot import open_ciphertexts

            try:
                table = open_ciphertexts(self._encrypted[path], self._ring)
            except (CheckFailed, ValueError):  # altered outside sops: QV603 (files stage)
                table = None  # its secrets stay sealed: their constraints are not checked
            self._tables[path] = table or {}
        return self._tables[path]
