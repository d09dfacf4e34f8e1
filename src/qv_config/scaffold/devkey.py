"""The secrets set-up of ``qv init``: a fresh dev age key, marked as one, the ``.sops.yaml``
naming it, and the starter's dev API key encrypted with it.

The starter's service schema marks ``api_key`` secret: without a ``.sops.yaml`` a user who sets
one could not encrypt it. The dev environment gets a key of its own, made here and committed
(a DEV key: whoever has the repository reads dev's secrets); staging and prod get rules only
when their keys exist, made with ``qv secrets keygen`` and held outside the repository.
"""

from __future__ import annotations

from pathlib import Path

from qv_config.errors import UsageError

DEV_KEY = "keys/dev.agekey"
SOPS_CONFIG = ".sops.yaml"
DEV_CONFIG = "environments/dev/configs/example-service.yaml"
_MARK = (
    "# DEV KEY — made by `qv init` for the dev environment of this repository only: whoever has"
    " the repository can read dev's secrets with it. Never use it for staging or prod."
)
_EXAMPLE_SECRET = "  api_key: dev-example-api-key       # encrypted by qv init: qv secrets edit\n"


def sops_config_text(recipient: str) -> str:
    return f"""\
# SOPS creation rules (docs/secrets.md): one per environment. `qv secrets encrypt` encrypts the
# fields the service schema marks `x-qv-secret: true` (plus keys matching encrypted_regex).
# mac_only_encrypted: the MAC covers the encrypted values only, so non-secret fields of an
# encrypted file can be edited by hand without the key.
# dev: the DEV key in {DEV_KEY} (made by qv init, committed: dev data only).
# staging, prod: make a key each with `qv secrets keygen --out FILE` (kept outside the
# repository, given to that environment's agent), then add a rule like dev's with its age1….
creation_rules:
  - path_regex: ^environments/dev/.*\\.ya?ml$
    encrypted_regex: ^(password|api_key|token|client_secret|private_key)$
    mac_only_encrypted: true
    age: {recipient}
# sops writes YAML with 2-space indentation, as the rest of the repository.
stores:
  yaml:
    indent: 2
"""


def refuse_existing(dest: Path) -> None:
    """``qv init`` without --force writes neither file over an existing one."""
    for rel in (SOPS_CONFIG, DEV_KEY):
        if (dest / rel).exists():
            raise UsageError(
                f"{dest / rel} already exists; qv init does not overwrite files",
                hint="pass --force to overwrite them, or choose an empty DIR",
            )


def write_dev_secrets(dest: Path) -> list[Path]:
    """The dev key (an existing one is kept: keys are never overwritten), ``.sops.yaml`` and
    the starter dev config with its API key encrypted; returns the files written."""
    from qv_config.secrets import encrypt_file, generate_identity, key_file_text
    from qv_config.secrets.agekeys import parse_identities

    key = dest / DEV_KEY
    if key.is_file():
        found = parse_identities(key.read_text(encoding="utf-8"))
        if not found:
            raise UsageError(f"{key} holds no age key", hint="move it away, then run qv init")
        recipient = found[0].recipient
    else:
        identity = generate_identity()
        key.parent.mkdir(parents=True, exist_ok=True)
        key.touch(mode=0o600)
        key.write_text(key_file_text(identity, _MARK), encoding="utf-8")
        recipient = identity.recipient
    (dest / SOPS_CONFIG).write_text(sops_config_text(recipient), encoding="utf-8")
    config = dest / DEV_CONFIG
    with config.open("a", encoding="utf-8") as out:
        out.write(_EXAMPLE_SECRET)
    encrypt_file(config)
    return [dest / SOPS_CONFIG, key]
