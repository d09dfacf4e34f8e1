"""``qv secrets encrypt | decrypt | edit | rotate``: the file operations, run through sops.

Each operation finds the nearest ``.sops.yaml`` above the file, runs sops from that folder with
``--config`` (so creation rules match on repository-relative paths, whatever the cwd), and
checks up front what sops would report obscurely: no matching rule, no key, already encrypted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.errors import OperationalError, UsageError
from qv_config.secrets.binary import SopsRun, run_sops
from qv_config.secrets.config import SopsConfig, find_config, load_config
from qv_config.secrets.decrypt import decrypt_source, read_source, recipients_of
from qv_config.secrets.keyring import KeyRing, default_key_file, missing_key
from qv_config.secrets.sopsfile import split_sops_metadata
from qv_config.secrets.splice import splice
from qv_config.secrets.tamper import tampered


@dataclass(frozen=True, slots=True)
class Target:
    """A file to operate on, with the ``.sops.yaml`` that governs it."""

    path: Path
    config: SopsConfig

    @property
    def relative(self) -> str:
        return self.config.relative(self.path)


def target(path: Path) -> Target:
    if not path.is_file():
        raise UsageError(f"{path}: no such file", hint="pass the path of a YAML document")
    found = find_config(path)
    if found is None:
        raise UsageError(
            f"{path}: no .sops.yaml in this folder or above",
            hint="create .sops.yaml with a creation rule per environment",
        )
    config = load_config(found)
    _check_rule(config.root, path)
    return Target(path, config)


def _check_rule(root: Path, path: Path) -> None:
    """A file the rule of ``repo.files`` refuses (a link out of the repository, a control
    character in its name) is neither read nor written: exit 2 naming it, never its target."""
    from qv_config.repo.files import Refused
    from qv_config.repo.source import WorkTreeSource

    rel = Path(os.path.relpath(os.path.abspath(path), root)).as_posix()
    found = WorkTreeSource(root).locate(rel)
    if isinstance(found, Refused):
        raise UsageError(found.finding().message, hint="operate on the file itself")


def _sops(t: Target, args: list[str], key_file: Path | None = None, **kw: Any) -> SopsRun:
    full = ["--config", str(t.config.path), *args, t.relative]
    return run_sops(full, cwd=t.config.root, key_file=key_file, **kw)


_TAMPERED = ("MAC mismatch", "message authentication failed", "Could not decrypt value")


def _fail(t: Target, done: SopsRun, action: str) -> OperationalError:
    if any(sign in done.stderr for sign in _TAMPERED):
        raise tampered(str(t.path))
    if "Failed to get the data key" in done.stderr or "no identity matched" in done.stderr:
        raise missing_key(str(t.path), recipients_of(t.path))
    last = next((ln for ln in reversed(done.stderr.splitlines()) if ln.strip()), "no message")
    return OperationalError(
        f"{t.path}: sops could not {action} it: {last.strip()[:300]}",
        hint="run the same operation with `sops` directly to see more",
    )


def _is_encrypted(path: Path) -> bool:
    from qv_config.yamlio import load_bytes

    label, raw = read_source(path)
    return split_sops_metadata(load_bytes(label, raw).data, label)[1] is not None


def _require_key(t: Target, key_file: Path | None) -> Path | None:
    """Fail early when no identity can open ``t`` (exit 3, recipients named) or when it does not
    verify (exit 1, the field named): sops' own messages for a tampered value quote it."""
    keys = key_file if key_file is not None else default_key_file()
    decrypt_source(t.path, KeyRing.from_file(keys))
    return keys


# --- secret fields ------------------------------------------------------------------------------


def secret_keys(path: Path, root: Path) -> set[str]:
    """Names of the keys a document's schema marks ``x-qv-secret`` (leaf key of each pattern)."""
    from qv_config.models.marks import marks_for_config_schema
    from qv_config.yamlio import load_bytes

    data = load_bytes(str(path), path.read_bytes()).data
    meta = data.get("metadata") if isinstance(data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(data, dict) or data.get("kind") != "Config" or not isinstance(name, str):
        return set()
    from qv_config.repo.source import WorkTreeSource

    explicit = meta.get("schema") if isinstance(meta, dict) else None
    schema_path = explicit if isinstance(explicit, str) else f"schemas/configs/{name}.schema.json"
    raw = WorkTreeSource(root).read(schema_path.removeprefix("./"))  # by the rule of repo.files
    if raw is None:
        return set()
    try:
        schema = json.loads(raw)
    except ValueError as bad:
        raise UsageError(f"{schema_path}: not readable JSON ({bad})") from None
    marks = marks_for_config_schema(schema)
    return {pattern[-1] for pattern in marks.secret if pattern and pattern[-1] != "*"}


def encrypted_regex(t: Target) -> str:
    """The regex of keys to encrypt: schema-marked keys, plus the rule's ``encrypted_regex``."""
    keys = secret_keys(t.path, t.config.root)
    rule = t.config.rule_for(t.path)
    parts = [f"^({'|'.join(re.escape(k) for k in sorted(keys))})$"] if keys else []
    if rule is not None and rule.encrypted_regex:
        parts.append(rule.encrypted_regex)
    if not parts:
        raise UsageError(
            f"{t.path}: no field is marked secret, so there is nothing to encrypt",
            hint="mark fields `x-qv-secret: true` in the service schema or set encrypted_regex"
            " in the .sops.yaml rule",
        )
    return parts[0] if len(parts) == 1 else "|".join(f"(?:{p})" for p in parts)


# --- operations ---------------------------------------------------------------------------------


def encrypt_file(path: Path) -> set[str]:
    """Encrypt ``path``'s secret fields in place; returns the recipients it is encrypted to."""
    t = target(path)
    rule = t.config.rule_for(path)
    if rule is None or not rule.age:
        raise UsageError(
            f"{t.relative}: no creation rule in {t.config.path} names age recipients for this path",
            hint="add a rule whose path_regex matches it",
        )
    if _is_encrypted(path):
        raise UsageError(
            f"{path}: already encrypted",
            hint="use `qv secrets edit` to change it or `qv secrets rotate`",
        )
    original = path.read_bytes()
    done = _sops(t, ["encrypt", "--encrypted-regex", encrypted_regex(t)])
    if done.returncode != 0:
        raise _fail(t, done, "encrypt")
    # sops re-writes the whole file; only the secret values and the sops block are taken.
    label = t.relative
    text = splice(original.decode("utf-8"), done.stdout.decode("utf-8"), label)
    _replace(path, text.encode("utf-8"))
    return set(rule.age)


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` over ``path`` at once (a temporary file renamed), keeping its mode."""
    import tempfile

    path = Path(os.path.realpath(path))  # a link (within its area) keeps pointing at the file
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".qv")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def decrypt_file(path: Path, key_file: Path | None = None, in_place: bool = False) -> bytes:
    """The plaintext file as sops writes it (or, ``in_place``, written back; returns b"")."""
    t = target(path)
    if not _is_encrypted(path):
        raise UsageError(f"{path}: not encrypted (no sops metadata)")
    keys = _require_key(t, key_file)
    done = _sops(t, ["decrypt", *(["-i"] if in_place else [])], keys)
    if done.returncode != 0:
        raise _fail(t, done, "decrypt")
    return done.stdout


def edit_file(path: Path, key_file: Path | None = None, editor: str | None = None) -> None:
    """Open the decrypted file in ``$EDITOR`` through sops; re-encrypted on save."""
    t = target(path)
    keys = _require_key(t, key_file) if _is_encrypted(path) else key_file
    done = _sops(t, ["edit"], keys, interactive=True, editor=editor)
    if done.returncode not in (0, 200):  # 200: file unchanged
        raise OperationalError(
            f"{path}: sops edit failed (exit {done.returncode})",
            hint="check $EDITOR and the key file; the file is unchanged",
        )


def rotate_file(path: Path, key_file: Path | None = None) -> set[str]:
    """Re-encrypt to the recipients the rules name now, with a fresh data key."""
    t = target(path)
    if not _is_encrypted(path):
        raise UsageError(f"{path}: not encrypted", hint="run `qv secrets encrypt` first")
    want = t.config.rule_for(path)
    if want is None or not want.age:
        raise UsageError(
            f"{t.relative}: no creation rule in {t.config.path} names age recipients for this path",
            hint="add a rule whose path_regex matches it",
        )
    keys = _require_key(t, key_file)
    for args in (["rotate", "-i"], ["updatekeys", "-y"]):  # rotate first: the old key opens it
        done = _sops(t, args, keys)
        if done.returncode != 0:
            raise _fail(t, done, "rotate")
    return set(want.age)
