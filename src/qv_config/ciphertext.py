"""The shape of a sops-encrypted value, ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]``.

Its own small module: validation tests every string of every document with it, and must not
import ``qv_config.secrets`` (crypto, sops binary lookup) to do so.

sops' pattern (``aes/cipher.go``) has four greedy ``(.+)`` groups; Go runs it in linear time, but
Python's backtracking ``re`` takes O(n⁴) on a string that starts like a ciphertext and does not
end like one (a plain 4 KB description ``ENC[AES256_GCM,data:`` + ``,iv:,tag:,type:``×N took
minutes). Here every field stops at the next comma (base64 holds none) and the type at ``]``,
so a match is linear; the prefix is checked first, so nearly every string never reaches the
regex. Any type name matches: one sops does not know fails later, at conversion.
"""

from __future__ import annotations

import re
from typing import Any

PREFIX = "ENC[AES256_GCM,data:"
_ENC = re.compile(r"ENC\[AES256_GCM,data:([^,\]]+),iv:([^,\]]+),tag:([^,\]]+),type:([^\]]+)\]")


def parse_ciphertext(value: Any) -> re.Match[str] | None:
    """The match of a sops value (groups: data, iv, tag, type), None for anything else."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    return _ENC.fullmatch(value)


def is_ciphertext(value: Any) -> bool:
    """Whether ``value`` has the shape of a sops-encrypted value (whatever its type tag)."""
    return parse_ciphertext(value) is not None


_FRAME = re.compile(r"ENC\[AES256_GCM,data:[^\]]*\]\Z")


def looks_encrypted(value: Any) -> bool:
    """Whether ``value`` has a sops value's frame, ``ENC[AES256_GCM,data:…]``, whatever its
    fields: what diff and drift treat as a secret (a damaged ciphertext is masked too)."""
    return isinstance(value, str) and value.startswith(PREFIX) and _FRAME.match(value) is not None
