"""age X25519 keys through ``pyrage`` (bindings to the Rust ``age`` crate): generate, parse, derive
recipients, open a sops data key.

Why in-process: sops stores each file's 32-byte data key as a small armored age file. Opening it
here costs about 0.1 ms, where one ``sops`` process per file costs tens of milliseconds (SPEC §3
render budget). The age format itself (armor, stanzas, HKDF, ChaCha20-Poly1305, header MAC) is
pyrage's; qv only sorts its outcomes into "no key of ours" and "malformed or altered".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qv_config.errors import UsageError

if TYPE_CHECKING:
    from pyrage import x25519

# What pyrage says when no identity given unwraps any stanza (age's DecryptError::NoMatchingKeys);
# every other failure means the armored key is malformed or was altered.
_NO_MATCH = "No matching keys found"


@dataclass(frozen=True, slots=True)
class AgeIdentity:
    """One age private key and the public recipient it belongs to (never shown in a repr)."""

    key: x25519.Identity = field(repr=False, compare=False)
    recipient: str  # "age1…"

    def encoded(self) -> str:
        """``AGE-SECRET-KEY-1…``: for writing a key file, never for a message."""
        return str(self.key)


def _identity(key: x25519.Identity) -> AgeIdentity:
    return AgeIdentity(key, str(key.to_public()))


def generate_identity() -> AgeIdentity:
    """A fresh age identity (X25519), as ``age-keygen`` would make."""
    from pyrage import x25519

    return _identity(x25519.Identity.generate())


def identity_from_string(text: str) -> AgeIdentity:
    """Parse ``AGE-SECRET-KEY-1…``; raises ``UsageError`` (never echoing the key) when invalid."""
    from pyrage import IdentityError, x25519

    try:
        return _identity(x25519.Identity.from_str(text.strip()))
    except IdentityError:
        raise UsageError(
            "an age identity line is not a valid AGE-SECRET-KEY-1… key",
            hint="regenerate the key file with `age-keygen` or `qv secrets keygen`",
        ) from None


def is_recipient(text: str) -> bool:
    """Whether ``text`` is a well-formed ``age1…`` X25519 recipient."""
    from pyrage import RecipientError, x25519

    try:
        x25519.Recipient.from_str(text)
    except RecipientError:
        return False
    return True


def parse_identities(text: str) -> tuple[AgeIdentity, ...]:
    """Every identity of an age key file (comments and blank lines skipped)."""
    lines = (line.strip() for line in text.splitlines())
    return tuple(identity_from_string(line) for line in lines if line and not line.startswith("#"))


def key_file_text(identity: AgeIdentity, comment: str = "") -> str:
    """The text of a key file in ``age-keygen``'s layout (plus an optional leading comment)."""
    head = f"{comment}\n" if comment else ""
    return f"{head}# public key: {identity.recipient}\n{identity.encoded()}\n"


class BadStanza(Exception):
    """An armored data key that is malformed or does not authenticate (never holds a key)."""


def decrypt_armored(armored: str, identities: Iterable[AgeIdentity]) -> bytes | None:
    """Open a small ASCII-armored age file: its plaintext, or None when no identity is one of its
    recipients. Raises ``BadStanza`` when it is not armored age data, is cut short or altered."""
    import pyrage

    keys = [identity.key for identity in identities]
    if not keys:
        return None
    try:
        # Leading and trailing whitespace is tolerated, as Go's age (sops) tolerates it.
        return pyrage.decrypt(armored.strip().encode("utf-8"), keys)
    except pyrage.DecryptError as bad:
        if str(bad) == _NO_MATCH:
            return None
        raise BadStanza("it is not well-formed age data, or it was altered") from None
