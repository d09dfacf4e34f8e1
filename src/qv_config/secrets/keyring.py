"""The age identities qv may use, and the per-file data keys they open (cached by stanza)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qv_config.errors import OperationalError
from qv_config.secrets.agekeys import AgeIdentity, BadStanza, decrypt_armored, parse_identities
from qv_config.secrets.keyfile import read_key_file
from qv_config.secrets.sopsfile import SopsMeta
from qv_config.secrets.tamper import Tampered

_RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{20,100}")


def default_key_file() -> Path | None:
    """``SOPS_AGE_KEY_FILE``, else sops' default ``~/.config/sops/age/keys.txt`` if present."""
    named = os.environ.get("SOPS_AGE_KEY_FILE")
    if named:
        return Path(named)
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = home / "sops" / "age" / "keys.txt"
    return candidate if candidate.is_file() else None


def load_identities(key_file: Path | None) -> tuple[AgeIdentity, ...]:
    """Identities of ``key_file`` (plus ``SOPS_AGE_KEY`` inline keys); () when there are none."""
    found: list[AgeIdentity] = list(parse_identities(os.environ.get("SOPS_AGE_KEY", "")))
    if key_file is not None:
        named_by = (
            "SOPS_AGE_KEY_FILE" if os.environ.get("SOPS_AGE_KEY_FILE") == str(key_file) else ""
        )
        found += parse_identities(read_key_file(key_file, named_by or "age key file"))
    return tuple(found)


def missing_key(label: str, recipients: Iterable[str]) -> OperationalError:
    names = ", ".join(sorted(recipients)) or "(no age recipient)"
    return OperationalError(
        f"{label}: no key to decrypt it; it is encrypted to {names}",
        hint="set SOPS_AGE_KEY_FILE (or --key-file) to a key file holding the private key of one"
        " of these recipients",
    )


def _named(recipient: str) -> str:
    """A stanza's recipient for a message: only when it has the shape of one (it is file text)."""
    return recipient if _RECIPIENT.fullmatch(recipient) else "a malformed recipient"


@dataclass
class KeyRing:
    """Identities plus a cache of opened data keys, keyed by the armored stanza text.

    Thread-safe: ``decrypt_documents`` may open files from a pool.
    """

    identities: tuple[AgeIdentity, ...]
    _cache: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_file(cls, key_file: Path | None = None) -> KeyRing:
        return cls(load_identities(key_file if key_file is not None else default_key_file()))

    @property
    def recipients(self) -> frozenset[str]:
        return frozenset(identity.recipient for identity in self.identities)

    def data_key(self, meta: SopsMeta, label: str = "<text>") -> bytes | None:
        """The file's data key, or None when no identity of ours is one of its recipients.

        Every stanza is tried with every identity, as sops does (the ``recipient:`` beside a
        stanza is not authenticated): ours first, since they are the ones that open. When none
        opens, a stanza that is malformed, or that names one of our recipients yet does not
        open with that key, was altered: ``Tampered`` (QV603) naming ``label``.
        """
        ours = self.recipients
        altered = ""
        for stanza in sorted(meta.age, key=lambda s: s.recipient not in ours):
            try:
                key = self._open(stanza.enc)
            except BadStanza as bad:
                altered = f"the age key stanza for {_named(stanza.recipient)}: {bad}"
                continue
            if key is not None:
                return key
            if stanza.recipient in ours:
                altered = (
                    f"the age key stanza for {_named(stanza.recipient)} does not open with its key"
                )
        if altered:
            raise Tampered(label, reason=altered)
        return None

    def _open(self, armored: str) -> bytes | None:
        """The data key of one stanza (cached by its text); None when no identity opens it."""
        with self._lock:
            known = armored in self._cache
            key = self._cache.get(armored)
        if not known:
            key = decrypt_armored(armored, self.identities)
            with self._lock:
                self._cache[armored] = key
        return key

    def require_key(self, meta: SopsMeta, label: str) -> bytes:
        key = self.data_key(meta, label)
        if key is None:
            raise missing_key(label, meta.recipients)
        return key
