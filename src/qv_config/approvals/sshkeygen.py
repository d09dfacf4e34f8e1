"""The one door to ``ssh-keygen``: signing and verifying approvals (namespace ``qv-approval``).

Every ssh-keygen process qv starts runs here. Verification is always ssh-keygen's own
(``-Y verify`` against the base's allowed signers, the signer bound to the claimed principal,
``-r`` the base's revoked keys); ``signature_key`` only reads the key out of an armored SSHSIG so
that a report can name it and a malformed signature is refused before any process starts.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import OperationalError

NAMESPACE = "qv-approval"
MAX_SIGNATURE = 16 * 1024  # an SSHSIG of the largest key type (RSA 16384) is ~3 KiB
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
_TIMEOUT = 20.0
_INSTALL = "install OpenSSH's ssh-keygen (8.2 or later) and put it on PATH"


@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    message: str  # ssh-keygen's own last line (escaped by whoever prints it)


def _run(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C", "SSH_ASKPASS_REQUIRE": "never"}
    try:
        return subprocess.run(
            ["ssh-keygen", *args],
            input=data,
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise OperationalError(
            "ssh-keygen is not installed or not on PATH", hint=_INSTALL
        ) from None
    except subprocess.TimeoutExpired:
        raise OperationalError(
            f"ssh-keygen did not answer within {_TIMEOUT:g} s",
            hint="a key with a passphrase needs a terminal or ssh-agent (ssh-add KEY)",
        ) from None


def _last_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
    return text[-1].strip() if text else f"ssh-keygen exit {proc.returncode}"


def sign(key: Path, data: bytes) -> str:
    """The armored signature of ``data`` by the private key ``key`` (or the public half of a key
    held by ssh-agent)."""
    if not key.is_file():
        raise OperationalError(f"no key file at {key}", hint="pass --key PATH to your SSH key")
    proc = _run(["-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE], data)
    if proc.returncode != 0:
        raise OperationalError(
            f"ssh-keygen could not sign with {key}: {_last_line(proc)}", hint=_key_hint(proc, key)
        )
    return proc.stdout.decode("ascii", "replace")


def public_key(key: Path) -> bytes:
    """The public key blob of ``key`` (a private key file, or a ``.pub`` file)."""
    from qv_config.approvals.signers import key_blob

    if not key.is_file():
        raise OperationalError(f"no key file at {key}", hint="pass --key PATH to your SSH key")
    text = key.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("-----BEGIN"):
        parts = text.split()
    else:
        proc = _run(["-y", "-f", str(key)], b"")
        if proc.returncode != 0:
            raise OperationalError(
                f"ssh-keygen could not read {key}: {_last_line(proc)}", hint=_key_hint(proc, key)
            )
        parts = proc.stdout.decode("ascii", "replace").split()
    blob = key_blob(parts[0], parts[1]) if len(parts) >= 2 else "not an SSH key"
    if isinstance(blob, str):
        raise OperationalError(f"{key} is not an SSH key: {blob}", hint="pass --key PATH")
    return blob


def _key_hint(proc: subprocess.CompletedProcess[bytes], key: Path) -> str:
    if "UNPROTECTED" in proc.stderr.decode("utf-8", "replace"):
        return f"ssh-keygen refuses a private key others can read: chmod 600 {key}"
    return "check the key file (ssh-keygen -y -f KEY prints its public half)"


def verify(
    signers: bytes, identity: str, signature: str, data: bytes, revoked: bytes | None
) -> Verified:
    """ssh-keygen's verdict on ``signature`` of ``data`` by ``identity`` under ``signers``."""
    with tempfile.TemporaryDirectory(prefix="qv-verify-") as tmp:
        folder = Path(tmp)
        (folder / "signers").write_bytes(signers)
        (folder / "sig").write_text(signature, encoding="ascii", errors="replace")
        args = ["-Y", "verify", "-f", str(folder / "signers"), "-I", identity]
        args += ["-n", NAMESPACE, "-s", str(folder / "sig")]
        if revoked and revoked.strip():
            (folder / "revoked").write_bytes(revoked)
            args += ["-r", str(folder / "revoked")]
        proc = _run(args, data)
    return Verified(proc.returncode == 0, _all_lines(proc) if proc.returncode else "")


def _all_lines(proc: subprocess.CompletedProcess[bytes]) -> str:
    """What ssh-keygen said on both streams (verify puts the reason on one, the verdict on the
    other), one line."""
    text = (proc.stdout + b"\n" + proc.stderr).decode("utf-8", "replace").splitlines()
    return "; ".join(line.strip() for line in text if line.strip()) or "ssh-keygen refused it"


def signature_key(armored: str) -> bytes | str:
    """The public key blob inside an armored SSHSIG, or why it is not a well-formed one."""
    if len(armored) > MAX_SIGNATURE:
        return "signature larger than any SSH signature"
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _BEGIN or lines[-1] != _END:
        return "not an armored SSH signature (truncated?)"
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        return "signature is not base64 (truncated or altered)"
    return _sshsig_key(blob)


def _sshsig_key(blob: bytes) -> bytes | str:
    if not blob.startswith(b"SSHSIG") or len(blob) < 14:
        return "not an SSHSIG signature"
    at = 10  # magic (6) and version (4)
    fields: list[bytes] = []
    for _ in range(6):  # public key, namespace, reserved, hash algorithm, signature
        if at + 4 > len(blob):
            return "signature is truncated"
        (size,) = struct.unpack(">I", blob[at : at + 4])
        if at + 4 + size > len(blob):
            return "signature is truncated"
        fields.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
        if len(fields) == 5:
            break
    if fields[1] != NAMESPACE.encode():
        return f"signature is for namespace {fields[1][:40]!r}, not {NAMESPACE}"
    return fields[0]
