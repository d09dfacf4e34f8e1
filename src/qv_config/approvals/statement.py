"""The signed statement of an approval and the Git blob that carries it.

Statement: canonical JSON (UTF-8, sorted keys, no whitespace) of exactly
``{env, base_digest, target_digest, changes_digest, policy_digest, approver, created_at}``.
Blob: the statement's bytes, a line feed, and the armored SSHSIG over those bytes. A blob is
accepted only when its statement re-encodes to the very bytes that were signed, so no two
readings of one approval can differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

MAX_BLOB = 64 * 1024  # larger objects under refs/qv/approvals/ are not even read
_DIGEST = re.compile(r"[0-9a-f]{64}")
_APPROVER = re.compile(r"[^\s@,\"*?!]{1,200}@[^\s@,\"*?!]{1,200}")
_ENV = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
FIELDS = (
    "approver",
    "base_digest",
    "changes_digest",
    "created_at",
    "env",
    "policy_digest",
    "target_digest",
)


@dataclass(frozen=True, slots=True)
class Statement:
    env: str
    base_digest: str
    target_digest: str
    changes_digest: str
    policy_digest: str
    approver: str
    created_at: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SignedBlob:
    statement: Statement
    signed: bytes  # the exact bytes the signature covers
    signature: str


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def blob(statement: Statement, signature: str) -> bytes:
    return statement.encode() + b"\n" + signature.encode("ascii")


def parse_blob(data: bytes) -> SignedBlob | str:
    """The statement and signature of a blob, or why it is not an approval."""
    if len(data) > MAX_BLOB:
        return f"larger than {MAX_BLOB} bytes"
    signed, _, rest = data.partition(b"\n")
    try:
        obj = json.loads(signed)
        signature = rest.decode("ascii")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…"
        return "not a qv approval statement (JSON line, then an SSH signature)"
    statement = _statement(obj)
    if isinstance(statement, str):
        return statement
    if not signature.strip():
        return "no signature after the statement"
    if statement.encode() != signed:
        return "statement is not in canonical form"
    return SignedBlob(statement, signed, signature)


def _statement(obj: object) -> Statement | str:
    if not isinstance(obj, dict) or tuple(sorted(obj)) != FIELDS:
        return f"statement must hold exactly the fields {', '.join(FIELDS)}"
    if not all(isinstance(value, str) for value in obj.values()):
        return "statement fields must be strings"
    for name in ("base_digest", "target_digest", "changes_digest", "policy_digest"):
        if not _DIGEST.fullmatch(obj[name]):
            return f"statement {name} is not a sha256 digest"
    if not _ENV.fullmatch(obj["env"]):
        return "statement env is not an environment name"
    if not _APPROVER.fullmatch(obj["approver"]):
        return "statement approver is not an e-mail identity"
    if not _TIME.fullmatch(obj["created_at"]):
        return "statement created_at is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)"
    return Statement(**obj)
