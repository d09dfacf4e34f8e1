"""The one error for an encrypted file that does not verify (QV603), wherever it is found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qv_config.errors import CheckFailed

if TYPE_CHECKING:
    from qv_config.secrets.sopsfile import CipherError


class Tampered(CheckFailed):
    """An encrypted file that does not verify (QV603, exit 1): a value, its ``type:`` tag, the MAC
    or an age key stanza was altered outside sops. ``field`` names the value to blame (empty: the
    file as a whole); no message ever holds a value."""

    def __init__(self, label: str, field: tuple[str | int, ...] = (), reason: str = "") -> None:
        from qv_config.findings import dotted

        what = f"{dotted(field)}: {reason}" if field else reason or "sops MAC mismatch"
        super().__init__(
            f"{label}: {what} — the encrypted file was altered outside sops",
            hint="restore it from Git, or re-create the secret with `qv secrets edit`",
        )
        self.field = field
        self.reason = reason


def tampered(label: str, bad: CipherError | None = None) -> Tampered:
    """QV603 for ``label``: the value ``bad`` names, or the file's MAC."""
    return Tampered(label, bad.field, bad.reason) if bad is not None else Tampered(label)
