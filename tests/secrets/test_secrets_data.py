"""A secret's plaintext is data, byte for byte: never a template, never quoted by a finding.

Before the fix, ``sync`` and ``render --decrypt`` evaluated a decrypted value as Jinja while
``validate`` (even with the key) did not: a password holding ``{%`` validated, then ``sync``
refused the state (QV232); ``{{ 6 * 7 }}x`` was deployed as ``42x``; ``render --decrypt`` quoted
``S3cr3t{{ nope }}`` in its QV230 message. A template reading a secret through ``env.vars``
copied its plaintext into a field nobody marked secret.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.yamlio import load_bytes

from .conftest import Result

SECRETS = ["Zx{%q9-random-password", "{{ 6 * 7 }}x", "S3cr3t{{ nope }}", "pw{# note #}{{x"]
CONFIG = "environments/dev/configs/example-service.yaml"
KEY_NAME = "qv/dev/config/example-service"


def _starter(tmp_path: Path, qv: Callable[..., Result], monkeypatch: Any) -> tuple[Path, str]:
    root = tmp_path / "r"
    assert qv("init", str(root)).code == 0
    monkeypatch.chdir(root)
    return root, str(root / "keys" / "dev.agekey")


def _commit(root: Path) -> None:
    for args in (
        ("add", "-A"),
        ("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"),
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _set_secret(root: Path, qv: Callable[..., Result], secret: str) -> None:
    """The starter's dev api_key set to ``secret`` (as sops writes it: a quoted string) and
    encrypted again."""
    path = root / CONFIG
    text = path.read_text()
    text = text[: text.index("sops:")]
    text = re.sub(r"\n  api_key:.*", lambda _m: "\n  api_key: " + json.dumps(secret), text)
    path.write_text(text)
    assert qv("secrets", "encrypt", str(path)).code == 0
    _commit(root)


def _stored(root: Path) -> Any:
    with sqlite3.connect(root / ".qv" / "state.db") as db:
        (value,) = db.execute("select value from kv where key = ?", (KEY_NAME,)).fetchone()
    return json.loads(value)["spec"]["api_key"]


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_is_deployed_as_written(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: Any, secret: str
) -> None:
    root, key = _starter(tmp_path, qv, monkeypatch)
    _set_secret(root, qv, secret)
    checked = qv("validate", "--env", "dev", "--key-file", key)
    assert checked.code == 0, checked
    shown = qv("render", "--env", "dev", "--decrypt", "--key-file", key, "--format", "json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["dev/config/example-service"]["spec"]["api_key"] == secret
    yaml_out = qv("render", "--env", "dev", "--decrypt", "--key-file", key, "config/*")
    assert yaml_out.code == 0, yaml_out
    assert load_bytes("out", yaml_out.out.encode()).data["spec"]["api_key"] == secret
    synced = qv("sync", "--env", "dev", "--key-file", key)
    assert synced.code == 0, synced
    assert _stored(root) == secret  # byte for byte, not "42x"
    for quiet in (checked, synced, qv("drift", "--env", "dev", "--key-file", key)):
        assert secret not in quiet.out + quiet.err
        assert "42x" not in quiet.out + quiet.err


VARS_DOC = """\
apiVersion: qv/v1
kind: Config
metadata:
  name: reader
  owner: x
  labels: {token: hunter2-label}
spec:
  label: "{{ doc.labels.token }}"
  whole: "{{ env.vars.token }}"
  spliced: "pre-{{ env.vars.token }}"
  compared: "{% if env.vars.token == 'hunter2-known' %}yes{% endif %}"
  region: "{{ env.vars.region }}"
  printed: "x{{ env.vars }}"
"""


def test_a_template_cannot_read_a_secret(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: Any
) -> None:
    """``env.vars`` or ``doc.labels`` holding a secret: any template that reads it is QV231
    naming the field, with the key or without (validation sees ciphertext, sync plaintext: the
    same finding)."""
    root, key = _starter(tmp_path, qv, monkeypatch)
    env_file = root / "environments/dev/environment.yaml"
    env_file.write_text(
        env_file.read_text().replace("replicas: 1}", "replicas: 1, token: hunter2-known}")
    )
    assert qv("secrets", "encrypt", str(env_file)).code == 0
    reader = root / "environments/dev/configs/reader.yaml"
    reader.write_text(VARS_DOC)
    assert qv("secrets", "encrypt", str(reader)).code == 0
    _commit(root)
    runs = [
        qv("validate", "--env", "dev", "--format", "json"),
        qv("validate", "--env", "dev", "--format", "json", "--key-file", key),
    ]
    for run in runs:
        found = {(f["field"], f["code"]) for f in json.loads(run.out)["findings"]}
        assert run.code == 1
        assert found == {
            ("spec.whole", "QV231"),
            ("spec.spliced", "QV231"),
            ("spec.compared", "QV231"),
            ("spec.label", "QV231"),
            ("spec.printed", "QV231"),
        }
    refused = [
        qv("render", "--env", "dev", "--decrypt", "--key-file", key),
        qv("sync", "--env", "dev", "--key-file", key),
    ]
    for run in refused:
        assert run.code == 1, run
        assert "hunter2-known" not in run.out + run.err
        assert "hunter2-label" not in run.out + run.err
    assert "env.vars.token is a secret" in refused[0].out + refused[0].err
