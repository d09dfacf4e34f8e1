"""age X25519 keys in pure Python: generate, parse, derive recipients, unwrap a sops data key.

Why in-process: sops stores each file's 32-byte data key as a small armored age file. Unwrapping
it here costs microseconds, where one ``sops`` process per file costs tens of milliseconds — the
difference between decrypting 200 files in a few milliseconds or in seconds (SPEC §3 render
budget). The format follows age-encryption.org/v1: X25519 stanzas, HKDF-SHA256, ChaCha20-Poly1305.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qv_config.errors import OperationalError, UsageError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_RECIPIENT_HRP = "age"
_IDENTITY_HRP = "age-secret-key-"
_X25519_INFO = b"age-encryption.org/v1/X25519"
_ARMOR = re.compile(
    r"-----BEGIN AGE ENCRYPTED FILE-----\s*(.*?)\s*-----END AGE ENCRYPTED FILE-----", re.S
)


@dataclass(frozen=True, slots=True)
class AgeIdentity:
    """One age private key and the public recipient it belongs to."""

    secret: bytes  # 32 raw bytes of the X25519 scalar
    recipient: str  # "age1…"

    def encoded(self) -> str:
        return bech32_encode(_IDENTITY_HRP, self.secret).upper()


# --- bech32 (BIP-173, without its 90-character limit, as age uses it) -----------------------


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _GEN[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc, bits, out, maxv = 0, 0, [], (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (to_bits - bits)) & maxv)
    elif not pad and (bits >= from_bits or (acc << (to_bits - bits)) & maxv):
        raise ValueError("invalid bech32 padding")
    return out


def bech32_encode(hrp: str, payload: bytes) -> str:
    data = _convert_bits(payload, 8, 5, pad=True)
    poly = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data + checksum)


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32 string (either case); raises ``ValueError`` when malformed."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    low = text.lower()
    hrp, sep, rest = low.rpartition("1")
    if not sep or not hrp or len(rest) < 6 or any(c not in _CHARSET for c in rest):
        raise ValueError("not bech32")
    data = [_CHARSET.index(c) for c in rest]
    if _polymod([*_hrp_expand(hrp), *data]) != 1:
        raise ValueError("bad bech32 checksum")
    return hrp, bytes(_convert_bits(data[:-6], 5, 8, pad=False))


# --- keys ------------------------------------------------------------------------------------


def _public_of(secret: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = X25519PrivateKey.from_private_bytes(secret).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_identity() -> AgeIdentity:
    """A fresh age identity (X25519), as ``age-keygen`` would make."""
    secret = os.urandom(32)
    return AgeIdentity(secret, bech32_encode(_RECIPIENT_HRP, _public_of(secret)))


def identity_from_string(text: str) -> AgeIdentity:
    """Parse ``AGE-SECRET-KEY-1…``; raises ``UsageError`` (never echoing the key) when invalid."""
    try:
        hrp, secret = bech32_decode(text.strip())
    except ValueError:
        hrp, secret = "", b""
    if hrp != _IDENTITY_HRP or len(secret) != 32:
        raise UsageError(
            "an age identity line is not a valid AGE-SECRET-KEY-1… key",
            hint="regenerate the key file with `age-keygen` or qv's key generator",
        )
    return AgeIdentity(secret, bech32_encode(_RECIPIENT_HRP, _public_of(secret)))


def is_recipient(text: str) -> bool:
    """Whether ``text`` is a well-formed ``age1…`` X25519 recipient."""
    try:
        hrp, key = bech32_decode(text)
    except ValueError:
        return False
    return hrp == _RECIPIENT_HRP and len(key) == 32


def parse_identities(text: str) -> tuple[AgeIdentity, ...]:
    """Every identity of an age key file (comments and blank lines skipped)."""
    lines = (line.strip() for line in text.splitlines())
    return tuple(identity_from_string(line) for line in lines if line and not line.startswith("#"))


def key_file_text(identity: AgeIdentity, comment: str = "") -> str:
    """The text of a key file in ``age-keygen``'s layout (plus an optional leading comment)."""
    head = f"{comment}\n" if comment else ""
    return f"{head}# public key: {identity.recipient}\n{identity.encoded()}\n"


# --- unwrapping a sops data key ------------------------------------------------------------------


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True, slots=True)
class _Header:
    stanzas: tuple[tuple[list[str], bytes], ...]  # (args, body)
    signed: bytes  # header bytes covered by the MAC (up to and including "---")
    mac: bytes
    payload: bytes


def _parse_header(blob: bytes) -> _Header:
    end = blob.index(b"\n--- ")
    mac_end = blob.index(b"\n", end + 5)
    lines = blob[:end].decode("ascii").split("\n")
    if lines[0] != "age-encryption.org/v1":
        raise ValueError("not an age v1 file")
    stanzas: list[tuple[list[str], bytes]] = []
    i = 1
    while i < len(lines):
        args, body, i = lines[i][3:].split(" "), "", i + 1
        while i < len(lines) and not lines[i].startswith("-> "):
            body += lines[i]
            i += 1
        stanzas.append((args, _b64(body)))
    return _Header(
        tuple(stanzas), blob[: end + 4], _b64(blob[end + 5 : mac_end].decode()), blob[mac_end + 1 :]
    )


_PRIVATE: dict[bytes, tuple[Any, bytes]] = {}


def _private(identity: AgeIdentity) -> tuple[Any, bytes]:
    """The X25519 key object and raw public key of ``identity`` (cached: parsing costs)."""
    found = _PRIVATE.get(identity.secret)
    if found is None:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        own = X25519PrivateKey.from_private_bytes(identity.secret)
        found = (own, bech32_decode(identity.recipient)[1])
        _PRIVATE[identity.secret] = found
    return found


def _unwrap_file_key(header: _Header, identity: AgeIdentity) -> bytes | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    own, public = _private(identity)
    for args, body in header.stanzas:
        if len(args) != 2 or args[0] != "X25519":
            continue  # other recipient types and grease stanzas
        share = _b64(args[1])
        shared = own.exchange(X25519PublicKey.from_public_bytes(share))
        wrap = _hkdf(shared, share + public, _X25519_INFO)
        try:
            return ChaCha20Poly1305(wrap).decrypt(b"\0" * 12, body, None)
        except InvalidTag:
            continue  # a stanza for another recipient
    return None


def _open_payload(header: _Header, file_key: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    mac_key = _hkdf(file_key, b"", b"header")
    if not hmac.compare_digest(
        hmac.new(mac_key, header.signed, hashlib.sha256).digest(), header.mac
    ):
        raise ValueError("age header MAC mismatch")
    nonce, body = header.payload[:16], header.payload[16:]
    cipher = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunk = 64 * 1024 + 16
    out = bytearray()
    for count, start in enumerate(range(0, len(body), chunk)):
        last = start + chunk >= len(body)
        seq = count.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        out += cipher.decrypt(seq, body[start : start + chunk], None)
    return bytes(out)


def decrypt_armored(armored: str, identities: Iterable[AgeIdentity]) -> bytes | None:
    """Decrypt a small ASCII-armored age file; None when no identity is a recipient of it."""
    found = _ARMOR.search(armored)
    if found is None:
        raise OperationalError(
            "an age-encrypted data key is not ASCII-armored age data",
            hint="re-encrypt the file with `qv secrets rotate`",
        )
    try:
        header = _parse_header(base64.b64decode("".join(found.group(1).split())))
    except ValueError as bad:
        raise OperationalError(
            f"an age-encrypted data key is malformed: {bad}",
            hint="re-encrypt the file with `qv secrets rotate`",
        ) from None
    for identity in identities:
        file_key = _unwrap_file_key(header, identity)
        if file_key is not None:
            return _open_payload(header, file_key)
    return None
