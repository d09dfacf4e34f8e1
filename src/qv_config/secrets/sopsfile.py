"""The sops document format, read in-process: metadata, value ciphertext, MAC.

Mirrors sops 3.x (``sops.go``, ``aes/cipher.go``): every value the metadata's rules select is
``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` with the AES-GCM additional data ``"k1:k2:…:"``
(the mapping keys leading to it; list items add nothing), and the MAC is SHA-512 over every
leaf's bytes in document order, stored encrypted with ``lastmodified`` as additional data.

The ``type:`` tag is outside both the AES-GCM tag and the MAC: anyone can edit it. The plaintext
is converted to the tagged type with Go's own rules (``strconv.Atoi``/``ParseFloat``/
``ParseBool``), so a tag that does not fit its plaintext fails here exactly where ``sops -d``
fails, as a ``CipherError`` naming the field and never the value (SPEC §8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from qv_config.ciphertext import is_ciphertext, parse_ciphertext
from qv_config.secrets.regex import searches
from qv_config.secrets.sopsmeta import AgeStanza, SopsMeta, split_sops_metadata

_MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()


# --- values --------------------------------------------------------------------------------------


def _go_float(value: float) -> str:
    # strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


def leaf_bytes(value: Any) -> bytes:
    """sops' ``ToBytes`` of a leaf value (what the MAC hashes)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return _go_float(value).encode()
    if isinstance(value, bytes):
        return value
    return str(value).encode()


class CipherError(Exception):
    """A value that does not open: tampered ciphertext, a wrong key or path, or a ``type:`` tag
    its plaintext does not convert to. Says which field (``field``), never the value."""

    def __init__(self, reason: str, field: tuple[str | int, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def inside(self, step: str | int) -> CipherError:
        """The same error one level up the tree (the walk adds each key on the way out)."""
        return CipherError(self.reason, (step, *self.field))


_NOT_ITS_TYPE = "its plaintext does not convert to the type its sops type: tag names"
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FLOAT_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"})
_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
_INT64 = range(-(2**63), 2**63)


def _go_atoi(text: str) -> int:
    # strconv.Atoi on 64-bit Go: decimal digits with an optional sign, within int64
    if _INT.fullmatch(text) is None:
        raise CipherError(_NOT_ITS_TYPE)
    try:
        number = int(text)
    except ValueError:  # more digits than Python converts: far outside int64 anyway
        raise CipherError(_NOT_ITS_TYPE) from None
    if number not in _INT64:
        raise CipherError(_NOT_ITS_TYPE)
    return number


def _go_parse_float(text: str) -> float:
    # strconv.ParseFloat(s, 64) for decimal text and the Inf/NaN words; an overflow to ±Inf is an
    # error in Go. Hex floats are refused: sops writes none, so one would fail its MAC anyway.
    if text.lower() in _FLOAT_WORDS:
        return float(text)
    if _FLOAT.fullmatch(text) is None:
        raise CipherError(_NOT_ITS_TYPE)
    number = float(text)
    if math.isinf(number):
        raise CipherError(_NOT_ITS_TYPE)
    return number


def _typed(plain: bytes, kind: str) -> Any:
    """``plain`` as the type its tag names, converted as sops converts it (``aes/cipher.go``).

    ``bytes`` and ``comment`` are refused: sops panics on a ``bytes`` value and leaves a
    ``comment`` value out of the MAC, so ``sops -d`` fails on either in a value's place.
    """
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise CipherError(_NOT_ITS_TYPE) from None
    if kind == "str":
        return text
    if kind == "int":
        return _go_atoi(text)
    if kind == "float":
        return _go_parse_float(text)
    if kind == "bool" and text in _BOOLS:
        return _BOOLS[text]
    raise CipherError(_NOT_ITS_TYPE)


def _open(ciphertext: str, key: bytes, aad: str) -> tuple[bytes, str]:
    """The plaintext bytes of one ``ENC[…]`` value and its type tag; ``CipherError`` if none."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    found = parse_ciphertext(ciphertext)
    if found is None:
        raise CipherError("it is not a sops ciphertext")
    try:
        data, iv, tag = (base64.b64decode(found.group(i), validate=True) for i in (1, 2, 3))
        return AESGCM(key).decrypt(iv, data + tag, aad.encode()), found.group(4)
    except (InvalidTag, ValueError):
        raise CipherError("its ciphertext does not authenticate") from None


def decrypt_value(ciphertext: str, key: bytes, aad: str) -> Any:
    """Open one ``ENC[…]`` value with the file's data key; raises ``CipherError`` on failure."""
    if ciphertext == "":
        return ""
    return _typed(*_open(ciphertext, key, aad))


def _round_trip(ciphertext: str, key: bytes, aad: str) -> Any:
    """``decrypt_value``, refusing a value whose bytes do not come back from its type: sops
    encrypted ``ToBytes(value)``, so a tag that changes them (``"007"`` read as ``int``) was
    edited, and the MAC, which hashes them, cannot match."""
    if ciphertext == "":
        return ""
    plain, kind = _open(ciphertext, key, aad)
    value = _typed(plain, kind)
    if leaf_bytes(value) != plain:
        raise CipherError(_NOT_ITS_TYPE)
    return value


# --- the tree walk -------------------------------------------------------------------------------


_Hits = tuple[bool, bool, bool, bool]  # unencrypted suffix, encrypted suffix, unenc re, enc re


@dataclass
class _Walk:
    meta: SopsMeta
    key: bytes
    strict: bool = False  # values must round-trip through their type (see ``_round_trip``)
    digest: Any = field(default_factory=hashlib.sha512)
    _keys: dict[str, _Hits] = field(default_factory=dict)

    def hits(self, key: str, above: _Hits) -> _Hits:
        """What ``key`` adds to the rule hits of the path above it (cached per key name).

        sops decides per leaf by scanning every key of its path; carrying the hits down the
        walk and caching per key name makes that one regex search per distinct key (and RE2's,
        which sops uses, as ``searches`` runs it, once per pattern and key name in the process).
        """
        own = self._keys.get(key)
        if own is None:
            meta = self.meta
            own = (
                bool(meta.unencrypted_suffix) and key.endswith(meta.unencrypted_suffix),
                bool(meta.encrypted_suffix) and key.endswith(meta.encrypted_suffix),
                bool(meta.unencrypted_regex) and searches(meta.unencrypted_regex, key),
                bool(meta.encrypted_regex) and searches(meta.encrypted_regex, key),
            )
            self._keys[key] = own
        return (above[0] or own[0], above[1] or own[1], above[2] or own[2], above[3] or own[3])

    def selected(self, hits: _Hits) -> bool:
        # the order of sops' shouldBeEncrypted: later rules override earlier ones
        encrypted = not hits[0]
        if self.meta.encrypted_suffix:
            encrypted = hits[1]
        if hits[2]:
            encrypted = False
        if self.meta.encrypted_regex:
            encrypted = hits[3]
        return encrypted

    def value(self, node: Any, path: tuple[str, ...], hits: _Hits) -> Any:
        # A failing value's field path is built on the way out (``inside``): nothing per leaf.
        if isinstance(node, Mapping):
            out: dict[Any, Any] = {}
            for k, v in node.items():
                try:
                    out[k] = self.value(v, (*path, str(k)), self.hits(str(k), hits))
                except CipherError as bad:
                    raise bad.inside(str(k)) from None
            return out
        if isinstance(node, list):
            items: list[Any] = []
            for index, item in enumerate(node):
                try:
                    items.append(self.value(item, path, hits))
                except CipherError as bad:
                    raise bad.inside(index) from None
            return items
        if node is None:
            return None  # sops neither encrypts nor hashes nulls
        encrypted = self.selected(hits)
        plain = node
        if encrypted:
            opener = _round_trip if self.strict else decrypt_value
            plain = opener(node, self.key, ":".join(path) + ":")
        if encrypted or not self.meta.mac_only_encrypted:
            self.digest.update(leaf_bytes(plain))
        return plain


def decrypt_tree(document: Any, meta: SopsMeta, key: bytes) -> tuple[Any, bool]:
    """The plaintext of ``document`` (without ``sops:``) and whether its MAC verifies.

    Raises ``CipherError`` when a value does not open (tampered ciphertext or wrong key).
    """
    walk = _Walk(meta, key)
    if meta.mac_only_encrypted:
        walk.digest.update(_MAC_ONLY_ENCRYPTED_INIT)
    plain = walk.value(document, (), (False, False, False, False))
    computed = walk.digest.hexdigest().upper()
    try:
        stored = decrypt_value(meta.mac, key, meta.lastmodified)
    except CipherError:
        return plain, False
    return plain, hmac.compare_digest(str(stored), computed)


def unselected_ciphertexts(document: Any, meta: SopsMeta) -> list[tuple[str | int, ...]]:
    """Field paths of values shaped like sops ciphertext at keys the file's own rules
    (``encrypted_regex`` …) leave plain: ``sops -d`` returns them untouched (and, with
    ``mac_only_encrypted``, unhashed), so they would be deployed as ``ENC[…]`` text. No key
    needed."""
    walk = _Walk(meta, b"")
    found: list[tuple[str | int, ...]] = []

    def visit(node: Any, where: tuple[str | int, ...], hits: _Hits) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                visit(v, (*where, k), walk.hits(str(k), hits))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, (*where, index), hits)
        elif is_ciphertext(node) and not walk.selected(hits):
            found.append(where)

    visit(document, (), (False, False, False, False))
    return found


def retyped_value(document: Any, meta: SopsMeta, key: bytes) -> CipherError | None:
    """After a MAC mismatch: the first value whose ``type:`` tag changes its bytes (the field
    to blame), or None when the MAC fails for another reason."""
    walk = _Walk(meta, key)
    walk.strict = True
    try:
        walk.value(document, (), (False, False, False, False))
    except CipherError as bad:
        return bad
    return None


Comparison = Literal["changed", "unchanged", "no key"]


__all__ = [  # the metadata types live in ``sopsmeta``; imported from here by older callers
    "AgeStanza",
    "CipherError",
    "Comparison",
    "SopsMeta",
    "decrypt_tree",
    "decrypt_value",
    "is_ciphertext",
    "leaf_bytes",
    "retyped_value",
    "split_sops_metadata",
    "unselected_ciphertexts",
]
