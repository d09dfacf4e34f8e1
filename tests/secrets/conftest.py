"""Fixtures of the secrets tests: a real tree with .sops.yaml, real age keys, the real sops."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from qv_config.secrets import generate_identity, key_file_text

KNOWN_SECRET = "hunter2-Zq9-known-plaintext"

CONFIG_DOC = f"""\
apiVersion: qv/v1
kind: Config
metadata: {{name: order-management, owner: team-oms}}
spec:
  db:
    host: pg-dev.internal
    port: 5432
    dbpassword: {KNOWN_SECRET}
  ratio: 1.5
  big: 1000000
  enabled: true
  venues: [XLON, XETR]
  brokers:
    - name: alpha
      api_key: ak-alpha-1
    - name: beta
      api_key: ak-beta-2
"""

SCHEMA = {
    "type": "object",
    "properties": {
        "db": {
            "type": "object",
            "properties": {"dbpassword": {"type": "string", "x-qv-secret": True}},
        },
        "brokers": {
            "type": "array",
            "items": {"type": "object", "properties": {"api_key": {"x-qv-secret": True}}},
        },
    },
}


@dataclass(frozen=True)
class Tree:
    root: Path
    dev_key: Path  # key file of the dev recipient
    other_key: Path  # a key no rule names
    prod_recipient: str  # its private key is nowhere

    def doc(self, env: str = "dev", name: str = "order-management") -> Path:
        return self.root / "environments" / env / f"{name}.yaml"


def _key(path: Path) -> str:
    identity = generate_identity()
    path.write_text(key_file_text(identity, "# test key"), encoding="utf-8")
    return identity.recipient


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    root = tmp_path / "repo"
    for env in ("dev", "prod"):
        (root / "environments" / env).mkdir(parents=True)
        (root / "environments" / env / "order-management.yaml").write_text(CONFIG_DOC)
    (root / "schemas" / "configs").mkdir(parents=True)
    (root / "schemas/configs/order-management.schema.json").write_text(json.dumps(SCHEMA))
    dev_key, other_key = tmp_path / "dev.agekey", tmp_path / "other.agekey"
    dev = _key(dev_key)
    _key(other_key)
    prod = generate_identity().recipient
    (root / ".sops.yaml").write_text(
        "creation_rules:\n"
        f"  - path_regex: ^environments/dev/.*\n    age: {dev}\n"
        f"  - path_regex: ^environments/prod/.*\n    age: '{prod}'\n"
    )
    return Tree(root, dev_key, other_key, prod)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def qv(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``qv ARGS`` end to end through the real error boundary, the secrets app mounted."""
    from qv_config.cli.app import app, run
    from qv_config.cli.secrets import secrets_app

    if not any(group.name == "secrets" for group in app.registered_groups):
        app.add_typer(secrets_app, name="secrets")
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-qv-test")

    def invoke(*args: str) -> Result:
        capfd.readouterr()
        try:
            run(list(args))
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        else:
            code = 0
        captured = capfd.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
