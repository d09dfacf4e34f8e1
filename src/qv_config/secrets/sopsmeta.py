"""The ``sops:`` block of an encrypted document, read as strictly as ``sops -d`` reads it.

sops decodes the block into a typed Go struct (``stores.Metadata``, yaml.v3), then checks it
(``ToInternal``, the version check): a field of the wrong YAML type, no ``version`` or one that
is not ``Major.Minor.Patch``, a ``lastmodified`` that is not RFC 3339, more than one key
selector (``encrypted_regex``, ``unencrypted_suffix``, …) or a ``sops:`` that is not a mapping
all make it refuse the file. qv refuses exactly those, as ``Tampered`` (QV603, exit 1) naming
the field (``sops.version``), never as a file it decrypts or, worse, deploys as plain: a
``sops:`` key is never ignored. Regexes must compile under RE2, as under Go (``regex``); a
pattern sops cannot compile selects nothing, so its file never verifies either.

A non-string scalar where sops wants a string is read as its text, as yaml.v3 does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qv_config.secrets.regex import re2_problem
from qv_config.secrets.tamper import Tampered


@dataclass(frozen=True, slots=True)
class AgeStanza:
    recipient: str  # "age1…"
    enc: str  # the data key, as an armored age file


@dataclass(frozen=True)
class SopsMeta:
    """The ``sops:`` block of an encrypted document (checked: see the module doc)."""

    age: tuple[AgeStanza, ...]
    lastmodified: str  # as sops re-formats it (RFC 3339, no fraction): the MAC's additional data
    mac: str
    version: str = ""
    encrypted_regex: str = ""
    unencrypted_regex: str = ""
    encrypted_suffix: str = ""
    unencrypted_suffix: str = ""
    mac_only_encrypted: bool = False
    other_keys: tuple[str, ...] = ()  # key types qv cannot use in-process (pgp, kms, …)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def recipients(self) -> frozenset[str]:
        return frozenset(stanza.recipient for stanza in self.age)


_STRINGS = ("lastmodified", "mac", "version")
_SELECTORS = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)
_OTHER_KEY_TYPES = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "key_groups")
# yaml.v3 reads these words into a Go bool (YAML 1.1 compatibility), quoted or not; not "true"
_BOOL_WORDS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
}
# blang/semver's Parse, after sops trims a leading "v"
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRERELEASE = rf"(?:{_NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"v?{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-{_PRERELEASE}(?:\.{_PRERELEASE})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
# Go's time.Parse(time.RFC3339, …)
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)


class _Refused(Exception):
    """Why sops refuses the block: ``field`` (under ``sops``) and a reason without any value."""

    def __init__(self, reason: str, *field: str | int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _text(block: Mapping[str, Any], key: str) -> str:
    """A string field: any scalar as its text (yaml.v3 does so), never a list or mapping."""
    value = block.get(key)
    if isinstance(value, (Mapping, list)):
        raise _Refused("it must be a string, not a list or mapping", key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flag(block: Mapping[str, Any], key: str) -> bool:
    value = block.get(key)
    if value is None or isinstance(value, bool):
        return value is True
    if isinstance(value, str) and value in _BOOL_WORDS:
        return _BOOL_WORDS[value]
    raise _Refused("it must be true or false", key)


def _items(block: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A list of key entries (``age``, ``kms``, …): absent, or a list of mappings."""
    value = block.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Refused("it must be a list of key entries", key)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _Refused("it must be a mapping (a key entry)", key, index)
    return value


def _age(block: Mapping[str, Any]) -> tuple[AgeStanza, ...]:
    stanzas = []
    for index, item in enumerate(_items(block, "age")):
        try:
            stanzas.append(AgeStanza(_text(item, "recipient"), _text(item, "enc")))
        except _Refused as bad:
            raise _Refused(bad.reason, "age", index, *bad.field) from None
    return tuple(stanzas)


def _version(block: Mapping[str, Any]) -> str:
    version = _text(block, "version")
    if not version:
        raise _Refused("it is missing: sops requires the version that wrote the file", "version")
    if _SEMVER.fullmatch(version) is None:
        raise _Refused("it is not a Major.Minor.Patch version", "version")
    return version


def _lastmodified(block: Mapping[str, Any]) -> str:
    """The time as Go formats it back (``Format(time.RFC3339)``): the MAC's additional data."""
    found = _RFC3339.fullmatch(_text(block, "lastmodified"))
    try:
        if found is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
        datetime(year, month, day, hour, minute, second)
        sign, hours, minutes = found.group(7), int(found.group(8) or 0), int(found.group(9) or 0)
        if hours > 23 or minutes > 59:
            raise ValueError
    except ValueError:
        raise _Refused("it is not an RFC 3339 time", "lastmodified") from None
    zone = f"{sign}{hours:02}:{minutes:02}" if hours or minutes else "Z"
    return f"{found.group(1)}-{found.group(2)}-{found.group(3)}T{found.group(4)}:" + (
        f"{found.group(5)}:{found.group(6)}{zone}"
    )


def _selectors(block: Mapping[str, Any]) -> dict[str, str]:
    """The one key selector sops allows (``{}``: none, so sops' default suffix)."""
    chosen = {key: text for key in _SELECTORS if (text := _text(block, key))}
    if len(chosen) > 1:
        names = " and ".join(sorted(chosen))
        raise _Refused(
            f"the file sets {names}: sops allows only one key selector", sorted(chosen)[-1]
        )
    for key, text in chosen.items():
        if key.endswith("_regex") and (problem := re2_problem(text)) is not None:
            raise _Refused(f"it is not a regex sops (RE2) can compile ({problem})", key)
    return chosen


def _checked(block: Any) -> SopsMeta:
    if block is None:
        raise _Refused("it is empty: no sops metadata")
    if not isinstance(block, Mapping):
        raise _Refused("it is not a mapping of sops metadata")
    for key in _STRINGS:
        _text(block, key)
    shamir = block.get("shamir_threshold")
    whole = (isinstance(shamir, int) and not isinstance(shamir, bool)) or (
        isinstance(shamir, float) and shamir.is_integer()
    )
    if shamir is not None and not whole:
        raise _Refused("it must be a whole number", "shamir_threshold")
    others = tuple(key for key in _OTHER_KEY_TYPES if _items(block, key))
    age, lastmodified, version = _age(block), _lastmodified(block), _version(block)
    selectors = _selectors(block)
    return SopsMeta(
        age=age,
        lastmodified=lastmodified,
        mac=_text(block, "mac"),
        version=version,
        encrypted_regex=selectors.get("encrypted_regex", ""),
        unencrypted_regex=selectors.get("unencrypted_regex", ""),
        encrypted_suffix=selectors.get("encrypted_suffix", ""),
        # sops' default when the file names no selector at all
        unencrypted_suffix=selectors.get("unencrypted_suffix", "" if selectors else "_unencrypted"),
        mac_only_encrypted=_flag(block, "mac_only_encrypted"),
        other_keys=others,
        raw=block,
    )


def parse_meta(block: Any, label: str = "<text>") -> SopsMeta:
    """The ``sops:`` block checked as sops checks it; ``Tampered`` naming ``sops.FIELD`` if not."""
    try:
        return _checked(block)
    except _Refused as bad:
        raise Tampered(label, ("sops", *bad.field), f"{bad.reason} (sops -d refuses it)") from None


def split_sops_metadata(data: Any, label: str = "<text>") -> tuple[Any, SopsMeta | None]:
    """The document without its top-level ``sops:`` key, and that key parsed (None: plaintext).

    Any ``sops:`` key is parsed, whatever its value: one that is not sops metadata is
    ``Tampered`` (QV603), never a plain file (its ``ENC[…]`` text would be deployed). Only the
    top level is copied (shallowly): the big subtrees are shared.
    """
    if not isinstance(data, Mapping) or "sops" not in data:
        return data, None
    meta = parse_meta(data["sops"], label)
    return {key: value for key, value in data.items() if key != "sops"}, meta
