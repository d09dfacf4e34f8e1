"""`qv secrets encrypt | decrypt | edit | rotate | keygen` end to end with the real sops."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from qv_config.secrets import (
    decrypt_documents,
    is_ciphertext,
    load_config,
    recipients_for,
    recipients_of,
    split_sops_metadata,
)
from qv_config.secrets.agekeys import parse_identities

from .conftest import KNOWN_SECRET, Tree


def _data(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_encrypt_only_secret_fields(tree: Tree, qv: Callable[..., Any]) -> None:
    result = qv("secrets", "encrypt", str(tree.doc()))
    assert result.code == 0, result.err
    doc, meta = split_sops_metadata(_data(tree.doc()))
    spec = doc["spec"]
    assert is_ciphertext(spec["db"]["dbpassword"])
    assert all(is_ciphertext(b["api_key"]) for b in spec["brokers"])
    assert spec["db"]["host"] == "pg-dev.internal"
    assert spec["brokers"][0]["name"] == "alpha"
    assert doc["metadata"]["name"] == "order-management"
    assert doc["apiVersion"] == "qv/v1"
    assert meta is not None
    assert meta.recipients == recipients_for(tree.doc())
    assert KNOWN_SECRET not in tree.doc().read_text()


def test_decrypt_prints_plaintext_and_in_place(tree: Tree, qv: Callable[..., Any]) -> None:
    qv("secrets", "encrypt", str(tree.doc()))
    shown = qv("secrets", "decrypt", str(tree.doc()), "--key-file", str(tree.dev_key))
    assert shown.code == 0, shown.err
    assert yaml.safe_load(shown.out)["spec"]["db"]["dbpassword"] == KNOWN_SECRET
    done = qv("secrets", "decrypt", "-i", str(tree.doc()), "-k", str(tree.dev_key))
    assert done.code == 0
    assert "do not commit" in done.err
    assert "sops" not in _data(tree.doc())


def test_file_arguments_are_relative_to_dash_c(
    tree: Tree, qv: Callable[..., Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """``qv -C ROOT secrets ... PATH`` reads PATH from ROOT, as ``qv -C ROOT validate PATH`` and
    ``git -C`` do, wherever the command is run from."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = str(tree.doc().relative_to(tree.root))
    assert qv("-C", str(tree.root), "secrets", "encrypt", relative).code == 0
    assert KNOWN_SECRET not in tree.doc().read_text()
    shown = qv("-C", str(tree.root), "secrets", "decrypt", relative, "-k", str(tree.dev_key))
    assert shown.code == 0, shown.err
    assert yaml.safe_load(shown.out)["spec"]["db"]["dbpassword"] == KNOWN_SECRET
    missing = qv("secrets", "decrypt", relative, "-k", str(tree.dev_key))  # no -C: from here
    assert missing.code != 0
    assert "Traceback" not in missing.err


def test_key_file_from_environment(tree: Tree, qv: Callable[..., Any], monkeypatch: Any) -> None:
    qv("secrets", "encrypt", str(tree.doc()))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tree.dev_key))
    assert KNOWN_SECRET in qv("secrets", "decrypt", str(tree.doc())).out


def test_edit_through_editor(tree: Tree, qv: Callable[..., Any], monkeypatch: Any) -> None:
    qv("secrets", "encrypt", str(tree.doc()))
    editor = tree.root.parent / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/pg-dev.internal/pg-dev-2.internal/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    result = qv("secrets", "edit", str(tree.doc()), "-k", str(tree.dev_key))
    assert result.code == 0, result.err
    plain = decrypt_documents([tree.doc()], tree.dev_key)[str(tree.doc())]
    assert plain["spec"]["db"]["host"] == "pg-dev-2.internal"
    assert plain["spec"]["db"]["dbpassword"] == KNOWN_SECRET


def test_rotate_moves_to_the_recipients_the_rules_name_now(
    tree: Tree, qv: Callable[..., Any]
) -> None:
    qv("secrets", "encrypt", str(tree.doc()))
    before = split_sops_metadata(_data(tree.doc()))[0]["spec"]["db"]["dbpassword"]
    new_recipient = parse_identities(tree.other_key.read_text())[0].recipient
    config = tree.root / ".sops.yaml"
    old_recipient = next(iter(recipients_of(tree.doc())))
    config.write_text(config.read_text().replace(old_recipient, new_recipient))
    assert recipients_of(tree.doc()) != recipients_for(tree.doc())  # stale: a warning later
    result = qv("secrets", "rotate", str(tree.doc()), "-k", str(tree.dev_key))
    assert result.code == 0, result.err
    assert recipients_of(tree.doc()) == {new_recipient} == recipients_for(tree.doc())
    after = split_sops_metadata(_data(tree.doc()))[0]["spec"]["db"]["dbpassword"]
    assert after != before  # a new data key re-encrypted every value
    plain = decrypt_documents([tree.doc()], tree.other_key)[str(tree.doc())]
    assert plain["spec"]["db"]["dbpassword"] == KNOWN_SECRET


def test_keygen_writes_a_key_sops_accepts(tree: Tree, qv: Callable[..., Any]) -> None:
    out = tree.root.parent / "new.agekey"
    result = qv("secrets", "keygen", "--out", str(out))
    assert result.code == 0
    recipient = result.out.strip()
    assert recipient.startswith("age1")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    config = tree.root / ".sops.yaml"
    config.write_text(config.read_text().replace(next(iter(recipients_for(tree.doc()))), recipient))
    assert qv("secrets", "encrypt", str(tree.doc())).code == 0
    shown = qv("secrets", "decrypt", str(tree.doc()), "-k", str(out))
    assert shown.code == 0
    assert KNOWN_SECRET in shown.out
    again = qv("secrets", "keygen", "--out", str(out))
    assert again.code == 2
    assert "already exists" in again.err


def test_repository_setup_is_consistent() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_config(root / ".sops.yaml")
    demo = (root / "keys/demo-dev.agekey").read_text()
    assert "# DEMO KEY — for the dev environment of this repository only" in demo
    demo_recipient = parse_identities(demo)[0].recipient
    dev = recipients_for(root / "environments/dev/x.yaml", config)
    assert dev == {demo_recipient}
    for env in ("staging", "prod"):
        named = recipients_for(root / f"environments/{env}/x.yaml", config)
        assert named
        assert demo_recipient not in named
    assert "DEMO KEY" in (root / "keys/README.md").read_text()
