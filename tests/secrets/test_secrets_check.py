"""`qv secrets check [PATH...]`: the leak check of the pre-commit hook. QV601 (plaintext in an
x-qv-secret field) and QV607 (plaintext at a key the file's .sops.yaml rule encrypts, whether
the file was never encrypted or a value was added to an encrypted one by hand); values never
printed; bad input exit 2. The starter tree, the CLI in process, the real sops."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from qv_config.scaffold import write_starter
from qv_config.secrets import generate_identity, key_file_text
from tests.inprocess import QvRun, run_qv

SERVICE = "environments/dev/configs/example-service.yaml"
SECRET = "hunter2-Zq9-plaintext"

Qv = Callable[..., QvRun]


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Qv:
    return lambda root, *args: run_qv(capsys, root, *args)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tree = tmp_path / "config"
    write_starter(tree)
    identity = generate_identity()
    (tmp_path / "dev.agekey").write_text(key_file_text(identity, "# test"), encoding="utf-8")
    (tree / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: ^environments/dev/.*\\.yaml$\n"
        f"    encrypted_regex: ^(api_key|token|password)$\n    age: {identity.recipient}\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    return tree


def _add(root: Path, text: str, rel: str = SERVICE) -> None:
    path = root / rel
    body = path.read_text(encoding="utf-8")
    path.write_text(body.replace("  max_order_notional:", f"{text}\n  max_order_notional:"))


def _under_spec(root: Path, line: str) -> None:
    """A line added under ``spec:`` of the service, at the indentation sops wrote."""
    path = root / SERVICE
    head, _, tail = path.read_text(encoding="utf-8").partition("\nspec:\n")
    indent = tail[: len(tail) - len(tail.lstrip(" "))]
    path.write_text(f"{head}\nspec:\n{indent}{line}\n{tail}", encoding="utf-8")


def test_a_clean_tree_passes(root: Path, qv: Qv) -> None:
    done = qv(root, "secrets", "check")
    assert done.code == 0, done.out + done.err


def test_plaintext_where_a_rule_encrypts_is_qv607(root: Path, qv: Qv) -> None:
    _add(root, f"  endpoints2:\n    - {{token: {SECRET}}}\n  db: {{password: {{v: {SECRET}}}}}")
    done = qv(root, "secrets", "check", "--format", "json")
    assert done.code == 1
    assert SECRET not in done.out + done.err
    found = {(f["code"], f["field"]) for f in json.loads(done.out)["findings"]}
    assert ("QV607", "spec.endpoints2[0].token") in found
    assert ("QV607", "spec.db.password.v") in found
    text = qv(root, "secrets", "check")
    assert SECRET not in text.out + text.err
    assert f"run `qv secrets encrypt {SERVICE}`" in text.out


def test_x_qv_secret_plaintext_is_qv601_and_masked(root: Path, qv: Qv) -> None:
    prod = "environments/prod/configs/example-service.yaml"  # no rule: only the schema says
    _add(root, f"  api_key: {SECRET}", prod)
    done = qv(root, "secrets", "check")
    assert done.code == 1
    assert "QV601" in done.out
    assert "QV607" not in done.out
    assert SECRET not in done.out + done.err
    assert qv(root, "secrets", "check", "environments/dev").code == 0  # PATH narrows


def test_a_value_added_by_hand_to_an_encrypted_file(root: Path, qv: Qv) -> None:
    _add(root, f"  api_key: {SECRET}")
    assert qv(root, "secrets", "encrypt", str(root / SERVICE)).code == 0
    assert qv(root, "secrets", "check").code == 0  # encrypted: nothing leaks
    _under_spec(root, f"endpoints3: {{token: {SECRET}}}")
    done = qv(root, "secrets", "check")
    assert done.code == 1
    assert f"`qv secrets edit {SERVICE}`" in done.out
    assert SECRET not in done.out + done.err


def test_ciphertext_and_empty_values_are_not_plaintext(root: Path, qv: Qv) -> None:
    fake = "ENC[AES256_GCM,data:abcd,iv:abcd,tag:abcd,type:str]"
    _add(root, f"  endpoints4: {{token: null}}\n  other: {{password: '{fake}'}}")
    done = qv(root, "secrets", "check", "--format", "json")
    codes = {f["code"] for f in json.loads(done.out)["findings"]}
    assert "QV607" not in codes  # (the stray ciphertext is QV606's business)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("secrets", "check", "--format", "xml"), "xml"),
        (("secrets", "check", "/etc/passwd"), "outside the project"),
        (("secrets", "check", "nowhere.yaml"), "matches no file"),
    ],
)
def test_bad_input_is_exit_2(root: Path, qv: Qv, args: tuple[str, ...], words: str) -> None:
    done = qv(root, *args)
    assert done.code == 2, done.out + done.err
    assert words in done.err


def test_a_malformed_sops_config_is_reported(root: Path, qv: Qv) -> None:
    (root / ".sops.yaml").write_text("creation_rules: 7\n", encoding="utf-8")
    _add(root, f"  api_key: {SECRET}")
    done = qv(root, "secrets", "check")
    assert done.code == 1
    assert "QV605" in done.out or "QV601" in done.out
    assert SECRET not in done.out + done.err
