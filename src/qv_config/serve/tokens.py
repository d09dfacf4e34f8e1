"""Read-only bearer tokens of ``qv serve`` (``--tokens FILE``), hashed at rest.

The file holds only SHA-256 digests of the tokens (random 256-bit strings that ``qv serve token
add`` makes, so a plain hash is enough: there is nothing to guess a dictionary from)::

    tokens:
      - name: oms-prod              # shown in access logs instead of the token
        sha256: 9f86d081884c7d65...  # of the token text
        environments:
          prod: [read]               # read documents and evaluate flags, secrets masked
          dev: [read, "secrets:read"]  # and see x-qv-secret values
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.errors import UsageError

READ = "read"
SECRETS_READ = "secrets:read"
_GRANTS = frozenset((READ, SECRETS_READ))
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Grant:
    """What one token may do in one environment."""

    name: str  # the token's name (logged; the token never is)
    secrets: bool  # may see x-qv-secret values


@dataclass(frozen=True)
class Tokens:
    """Token digests -> grants, for one served environment."""

    by_digest: Mapping[str, Grant]
    configured: bool  # False: no token file (loopback only, everyone reads, secrets masked)

    def grant(self, header: str | None) -> Grant | None:
        """The grant of ``Authorization: Bearer T`` (or a bare ``T``, as Unleash SDKs send
        it); None when missing or unknown."""
        if not header:
            return None
        token = header[7:] if header[:7].lower() == "bearer " else header
        return self.by_digest.get(digest(token.strip()))


NO_TOKENS = Tokens({}, configured=False)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return "qvt_" + secrets.token_urlsafe(32)


def load(path: Path, env: str) -> Tokens:
    """The tokens of ``path`` that may read ``env``; a malformed file is a UsageError."""
    data = _read(path)
    entries = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: no `tokens:` list", hint=_HINT)
    grants: dict[str, Grant] = {}
    for i, entry in enumerate(entries):
        name, sha, envs = _entry(path, i, entry)
        rights = envs.get(env)
        if rights:
            grants[sha] = Grant(name, SECRETS_READ in rights)
    return Tokens(grants, configured=True)


_HINT = "see docs/serve.md (Tokens); `qv serve --env E --tokens FILE --add-token NAME` adds one"


def _read(path: Path) -> Any:
    from qv_config.yamlio import YamlError, load_bytes

    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read the token file {path}: {err.strerror}", hint=_HINT) from None
    try:
        return load_bytes(str(path), raw).data
    except YamlError as err:
        raise UsageError(f"{path}: not valid YAML ({err})", hint=_HINT) from None


def _entry(path: Path, i: int, entry: Any) -> tuple[str, str, dict[str, list[str]]]:
    where = f"{path}: tokens[{i}]"
    if not isinstance(entry, dict):
        raise UsageError(f"{where} is not a mapping", hint=_HINT)
    name, sha, envs = entry.get("name"), entry.get("sha256"), entry.get("environments")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{where}: `name` must be a text", hint=_HINT)
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise UsageError(f"{where}: `sha256` must be 64 lower-case hex digits", hint=_HINT)
    if not isinstance(envs, dict) or not all(
        isinstance(v, list) and set(v) <= _GRANTS and READ in v for v in envs.values()
    ):
        raise UsageError(
            f"{where}: `environments` maps each environment to [read] or [read, secrets:read]",
            hint=_HINT,
        )
    return name, sha, envs


def add(path: Path, name: str, envs: list[str], secrets_read: bool) -> str:
    """Append a new token to ``path`` (created if missing) and return it (shown once)."""
    from qv_config.yamlio.writer import dump_plain

    data: dict[str, Any] = {"tokens": []}
    if path.exists():
        data = _read(path)
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise UsageError(f"{path}: no `tokens:` list", hint=_HINT)
        for i, entry in enumerate(data["tokens"]):
            if _entry(path, i, entry)[0] == name:
                raise UsageError(f"{path} already has a token named {name!r}", hint=_HINT)
    token = new_token()
    rights = [READ, SECRETS_READ] if secrets_read else [READ]
    entry = {"name": name, "sha256": digest(token), "environments": dict.fromkeys(envs, rights)}
    data["tokens"].append(entry)
    path.write_text(dump_plain(data), encoding="utf-8")
    path.chmod(0o600)
    return token
