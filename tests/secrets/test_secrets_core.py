"""Secrets in the core: QV602–QV605, `qv render --decrypt`, decrypt_snapshot, secret_change.

A real project (`qv init`) with `.sops.yaml` rules per environment, real age keys and the real
sops binary; commands run end to end through the CLI's error boundary.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qv_config.scaffold import write_starter
from qv_config.secrets import KeyRing, generate_identity, key_file_text

from .conftest import Result

SECRET = "sk-live-core-test-4f1a"
DOC = "environments/{env}/configs/example-service.yaml"


@dataclass(frozen=True)
class Project:
    root: Path
    dev_key: Path
    dev: str  # recipient of dev_key
    staging: str
    prod: str

    def doc(self, env: str) -> Path:
        return self.root / DOC.format(env=env)

    def rules(self, dev: str | None = None, extra: str = "") -> None:
        dev_rule = f"  - path_regex: ^environments/dev/.*\n    age: {dev or self.dev}\n"
        (self.root / ".sops.yaml").write_text(
            "creation_rules:\n"
            + dev_rule
            + f"  - path_regex: ^environments/staging/.*\n    age: {self.staging}\n"
            + f"  - path_regex: ^environments/prod/.*\n    age: {self.prod}\n"
            + extra
        )


def _add_secret(path: Path, value: str) -> None:
    path.write_text(path.read_text() + f"  api_key: {value}\n")


@pytest.fixture
def project(tmp_path: Path, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "proj"
    write_starter(root)  # the starter tree alone: this test makes its own keys and rules
    identity = generate_identity()
    dev_key = tmp_path / "dev.agekey"
    dev_key.write_text(key_file_text(identity))
    made = Project(
        root,
        dev_key,
        identity.recipient,
        generate_identity().recipient,
        generate_identity().recipient,
    )
    made.rules()
    for env in ("dev", "prod"):
        _add_secret(made.doc(env), SECRET)
        assert qv("secrets", "encrypt", str(made.doc(env))).code == 0
    monkeypatch.chdir(root)
    return made


def _codes(result: Result) -> list[str]:
    return [f["code"] for f in json.loads(result.out)["findings"]]


def test_encrypted_project_validates(project: Project, qv: Callable[..., Result]) -> None:
    result = qv("validate", "--format", "json")
    assert result.code == 0, result.out + result.err
    assert SECRET not in project.doc("dev").read_text()


def test_plaintext_secret_is_qv601(project: Project, qv: Callable[..., Result]) -> None:
    _add_secret(project.doc("staging"), SECRET)
    result = qv("validate", "--format", "json")
    assert result.code == 1
    assert "QV601" in _codes(result)
    assert SECRET not in result.out + result.err


def _tamper_value(path: Path) -> None:
    text = path.read_text()
    found = re.search(r"api_key: ENC\[AES256_GCM,data:(.)", text)
    assert found is not None
    swap = "A" if found.group(1) != "A" else "B"
    path.write_text(text[: found.start(1)] + swap + text[found.end(1) :])


def test_mac_is_verified_when_the_key_is_at_hand(
    project: Project, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tamper_value(project.doc("dev"))
    without = qv("validate", "--format", "json")
    assert without.code == 0  # no key at hand: nothing to verify with (documented)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(project.dev_key))
    keyed = qv("validate", "--format", "json")
    assert keyed.code == 1
    assert _codes(keyed) == ["QV603"]
    finding = json.loads(keyed.out)["findings"][0]
    assert finding["file"] == DOC.format(env="dev")
    assert finding["line"] > 1
    assert SECRET not in keyed.out + keyed.err


def test_edited_metadata_breaks_the_mac(
    project: Project, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project.doc("dev")
    path.write_text(
        re.sub(r'lastmodified: "[^"]+"', 'lastmodified: "2020-01-01T00:00:00Z"', path.read_text())
    )
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(project.dev_key))
    result = qv("validate", "--format", "json")
    assert result.code == 1
    assert _codes(result) == ["QV603"]


def test_added_recipient_is_a_qv602_warning(project: Project, qv: Callable[..., Result]) -> None:
    project.rules(dev=f"{project.dev},{generate_identity().recipient}")
    result = qv("validate", "--format", "json")
    assert result.code == 0, result.out
    assert _codes(result) == ["QV602"]
    assert "qv secrets rotate environments/dev/" in result.out


def test_keys_no_rule_names_is_qv604(project: Project, qv: Callable[..., Result]) -> None:
    project.rules(dev=generate_identity().recipient)
    result = qv("validate", "--format", "json")
    assert result.code == 1
    assert _codes(result) == ["QV604"]
    assert project.dev in result.out  # the foreign recipient is named


def test_no_rule_for_an_encrypted_file_is_qv604(
    project: Project, qv: Callable[..., Result]
) -> None:
    text = (project.root / ".sops.yaml").read_text()
    (project.root / ".sops.yaml").write_text(text.replace("^environments/prod/", "^nowhere/"))
    result = qv("validate", "--format", "json", "--env", "prod")
    assert result.code == 1
    assert _codes(result) == ["QV604"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("creation_rules:\n  - path_regex: ^env\n    age: not-a-key\n", 3),
        ("creation_rules: [\n", 2),
        ("creation_rules: []\n", 1),
    ],
)
def test_malformed_sops_yaml_is_qv605(
    project: Project, qv: Callable[..., Result], content: str, line: int
) -> None:
    (project.root / ".sops.yaml").write_text(content)
    result = qv("validate", "--format", "json")
    assert result.code == 1
    assert _codes(result) == ["QV605"]
    assert json.loads(result.out)["findings"][0]["line"] == line


def test_missing_sops_yaml_is_qv605(project: Project, qv: Callable[..., Result]) -> None:
    (project.root / ".sops.yaml").unlink()
    result = qv("validate", "--format", "text")
    assert result.code == 1
    assert "QV605" in result.out


def test_render_keeps_ciphertext_unless_decrypt(
    project: Project, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = qv("render", "--env", "dev", "config/example-service")
    assert plain.code == 0
    assert "api_key: ENC[AES256_GCM" in plain.out
    assert SECRET not in plain.out
    no_key = qv("render", "--env", "dev", "--decrypt")
    assert no_key.code == 3
    assert project.dev in no_key.err
    assert SECRET not in no_key.err
    shown = qv("render", "--env", "dev", "--decrypt", "--key-file", str(project.dev_key))
    assert shown.code == 0
    assert f"api_key: {SECRET}" in shown.out
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(project.dev_key))
    as_json = qv("render", "--env", "dev", "--decrypt", "--format", "json")
    assert json.loads(as_json.out)["dev/config/example-service"]["spec"]["api_key"] == SECRET
    other_env = qv("render", "--env", "prod", "--decrypt")
    assert other_env.code == 3
    assert project.prod in other_env.err
    assert qv("render", "--env", "dev", "--key-file", str(project.dev_key)).code == 2


def test_render_decrypt_of_a_tampered_file_is_exit_1(
    project: Project, qv: Callable[..., Result]
) -> None:
    _tamper_value(project.doc("dev"))
    result = qv("render", "--env", "dev", "--decrypt", "--key-file", str(project.dev_key))
    assert result.code == 1
    assert DOC.format(env="dev") in result.err
    assert "Traceback" not in result.err


def _snapshot(root: Path) -> Any:
    from qv_config.repo import WorkTreeSource, load_snapshot

    return load_snapshot(WorkTreeSource(root), use_cache=False)


def test_decrypt_snapshot_equals_sops_decrypt(project: Project) -> None:
    from qv_config.secrets.binary import sops_binary, sops_env
    from qv_config.secrets.snapshot import decrypt_snapshot
    from qv_config.yamlio import load_bytes

    snapshot = _snapshot(project.root)
    plain = decrypt_snapshot(snapshot, project.dev_key, envs=["dev"])
    path = DOC.format(env="dev")
    doc = plain.environments["dev"].documents[path]
    done = subprocess.run(
        [str(sops_binary()), "decrypt", path],
        cwd=project.root,
        env=sops_env(project.dev_key),
        capture_output=True,
        check=True,
    )
    assert doc.data == load_bytes(path, done.stdout).data
    assert doc.digest != snapshot.environments["dev"].documents[path].digest
    # the original snapshot is untouched, and other environments were not decrypted
    assert snapshot.environments["dev"].documents[path].data["spec"]["api_key"].startswith("ENC[")
    assert plain.environments["prod"] is snapshot.environments["prod"]


def test_secret_change(project: Project, qv: Callable[..., Result]) -> None:
    from qv_config.secrets.snapshot import secret_change

    path = DOC.format(env="dev")
    before = _snapshot(project.root)
    old = before.environments["dev"].documents[path].data["spec"]["api_key"]
    assert qv("secrets", "rotate", path, "-k", str(project.dev_key)).code == 0
    rotated = _snapshot(project.root)
    new = rotated.environments["dev"].documents[path].data["spec"]["api_key"]
    ring = KeyRing.from_file(project.dev_key)
    assert old != new
    assert secret_change(path, old, path, old, before, before, None) is None
    assert secret_change(path, old, path, new, before, rotated, ring) is None
    assert secret_change(path, old, path, new, before, rotated, None) == (
        "(encrypted; no key to compare)"
    )
    assert secret_change(path, None, path, new, before, rotated, None) == "(secret changed)"
    plain = project.doc("dev").read_bytes()
    assert qv("secrets", "decrypt", "-i", path, "-k", str(project.dev_key)).code == 0
    project.doc("dev").write_text(project.doc("dev").read_text().replace(SECRET, "other-value"))
    assert qv("secrets", "encrypt", path).code == 0
    changed = _snapshot(project.root)
    newer = changed.environments["dev"].documents[path].data["spec"]["api_key"]
    assert secret_change(path, old, path, newer, before, changed, ring) == "(secret changed)"
    assert plain  # the comparison never needed the plaintext outside memory
