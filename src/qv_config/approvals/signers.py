"""``policy/allowed_signers`` (git's allowed-signers format) and ``policy/revoked_keys``.

Both are parsed here only to report malformed lines with their place (QV710, QV711) and to know
which principals have keys; verification itself is ssh-keygen's (``approvals.sshkeygen``), which
reads the same bytes. ``revoked_keys`` holds plain public keys, one a line (``keytype base64
[comment]``): reviewable in a diff, and what ``ssh-keygen -Y verify -r`` accepts besides a KRL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

# Wire-format strings of each key type's blob: type, then its public parts (PROTOCOL.key).
_FIELDS = {
    "ssh-ed25519": 2,
    "ssh-rsa": 3,
    "ecdsa-sha2-nistp256": 3,
    "ecdsa-sha2-nistp384": 3,
    "ecdsa-sha2-nistp521": 3,
    "sk-ssh-ed25519@openssh.com": 3,
    "sk-ecdsa-sha2-nistp256@openssh.com": 4,
}
_OPTION = re.compile(r'(?:[A-Za-z-]+(?:="[^"]*")?)(?:,[A-Za-z-]+(?:="[^"]*")?)*')
KEY_TYPES = frozenset(_FIELDS)
_OPTION_NAMES = frozenset({"cert-authority", "namespaces", "valid-after", "valid-before"})
_TOKEN = re.compile(r'(?:"[^"]*"|[^\s"])+')


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    col: int
    message: str


@dataclass(frozen=True, slots=True)
class SignerEntry:
    line: int
    principals: tuple[str, ...]  # as written (may hold wildcards, as ssh-keygen allows)
    fingerprint: str  # SHA256:... of the public key


@dataclass(frozen=True)
class Signers:
    entries: tuple[SignerEntry, ...]
    problems: tuple[LineProblem, ...]

    def has_principal(self, identity: str) -> bool:
        return any(identity in entry.principals for entry in self.entries)


@dataclass(frozen=True)
class Revoked:
    fingerprints: frozenset[str]
    problems: tuple[LineProblem, ...]


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (``ssh-keygen -l``'s form)."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def key_blob(keytype: str, text: str) -> bytes | str:
    """The decoded key blob of ``keytype base64``, or why it is not one."""
    if keytype not in KEY_TYPES:
        return f"unknown key type {keytype!r} (expected one of {', '.join(sorted(KEY_TYPES))})"
    try:
        blob = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return "the key is not base64"
    fields = _strings(blob)
    if not fields or fields[0] != keytype.encode():
        return f"the key's data is not a {keytype} key (truncated or mislabelled)"
    if len(fields) != _FIELDS[keytype] or (keytype == "ssh-ed25519" and len(fields[1]) != 32):
        return f"the {keytype} key is truncated or has extra data"
    return blob


def _strings(blob: bytes) -> list[bytes]:
    """The SSH wire-format strings of a key blob (empty when a length runs past the end)."""
    out: list[bytes] = []
    at = 0
    while at < len(blob):
        if at + 4 > len(blob):
            return []
        (size,) = struct.unpack(">I", blob[at : at + 4])
        if at + 4 + size > len(blob):
            return []
        out.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def _lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _column(line: str, token: str) -> int:
    return line.find(token) + 1


def parse_signers(text: str) -> Signers:
    """Entries and malformed lines of an allowed-signers file."""
    entries: list[SignerEntry] = []
    problems: list[LineProblem] = []
    for number, line in _lines(text):
        found = _signer_line(number, line)
        (entries if isinstance(found, SignerEntry) else problems).append(found)  # type: ignore[arg-type]
    return Signers(tuple(entries), tuple(problems))


def _signer_line(number: int, line: str) -> SignerEntry | LineProblem:
    tokens = _TOKEN.findall(line)
    if len(tokens) < 3:
        return LineProblem(number, 1, "expected: principals [options] keytype base64-key")
    principals, rest = tokens[0], tokens[1:]
    if rest[0] not in KEY_TYPES and (len(rest) < 3 or rest[1] not in KEY_TYPES):
        return LineProblem(
            number,
            _column(line, rest[0]),
            f"{rest[0][:40]!r} is not a key type: expected principals [options] keytype base64-key",
        )
    if rest[0] not in KEY_TYPES:
        problem = _options_problem(rest[0])
        if problem:
            return LineProblem(number, _column(line, rest[0]), problem)
        rest = rest[1:]
    if len(rest) < 2:
        return LineProblem(number, 1, "expected a key type and a base64 key after the principals")
    blob = key_blob(rest[0], rest[1])
    if isinstance(blob, str):
        return LineProblem(number, _column(line, rest[0]), blob)
    names = tuple(p for p in principals.strip('"').split(",") if p)
    if not names:
        return LineProblem(number, 1, "no principal before the key")
    return SignerEntry(number, names, fingerprint(blob))


def _options_problem(options: str) -> str:
    if not _OPTION.fullmatch(options):
        return f'malformed options {options!r} (expected e.g. namespaces="qv-approval")'
    for option in options.split(","):
        name = option.partition("=")[0]
        if name not in _OPTION_NAMES:
            return f"unknown option {name!r} ({', '.join(sorted(_OPTION_NAMES))} are known)"
    return ""


def parse_revoked(text: str) -> Revoked:
    """Fingerprints and malformed lines of a revoked-keys file (plain public keys)."""
    found: set[str] = set()
    problems: list[LineProblem] = []
    for number, line in _lines(text):
        tokens = line.split()
        if len(tokens) < 2:
            problems.append(LineProblem(number, 1, "expected: keytype base64-key [comment]"))
            continue
        blob = key_blob(tokens[0], tokens[1])
        if isinstance(blob, str):
            problems.append(LineProblem(number, _column(line, tokens[0]), blob))
        else:
            found.add(fingerprint(blob))
    return Revoked(frozenset(found), tuple(problems))
