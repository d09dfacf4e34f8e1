"""In-process decryption equals `sops decrypt`; age keys made in Python are accepted by sops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qv_config.secrets import (
    KeyRing,
    compare_secret,
    data_key_of,
    decrypt_documents,
    generate_identity,
    is_ciphertext,
    key_file_text,
    split_sops_metadata,
)
from qv_config.secrets.agekeys import is_recipient, parse_identities
from qv_config.secrets.binary import run_sops
from qv_config.yamlio import load_bytes

DOC = """\
apiVersion: qv/v1
kind: Config
metadata: {name: svc, owner: team}
spec:
  password: s3cr3t
  token: 12345
  rate: 0.25
  whole: 2.0
  on: true
  off: false
  empty: ""
  nothing: null
  list: [a, 7, 1.5, false]
  nested:
    deep: {password: inner, keep: visible}
    items:
      - {name: x, token: tx}
      - {name: y, token: ty}
"""


def _sops(args: list[str], cwd: Path, key_file: Path | None = None) -> bytes:
    done = run_sops(args, cwd=cwd, key_file=key_file)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Path, str]:
    identity = generate_identity()
    key_file = tmp_path / "k.agekey"
    key_file.write_text(key_file_text(identity))
    return key_file, identity.recipient


@pytest.mark.parametrize(
    "extra",
    [
        ["--encrypted-regex", "^(password|token)$"],
        ["mac_only_encrypted"],  # a creation-rule option only
        ["--unencrypted-regex", "^(apiVersion|kind|name)$"],
        [],  # sops' default: every value encrypted
    ],
)
def test_in_process_equals_sops_decrypt(
    tmp_path: Path, keyed: tuple[Path, str], extra: list[str]
) -> None:
    key_file, recipient = keyed
    plain = tmp_path / "doc.yaml"
    plain.write_text(DOC)
    encrypted = tmp_path / "enc.yaml"
    if extra == ["mac_only_encrypted"]:
        (tmp_path / ".sops.yaml").write_text(
            f"creation_rules:\n  - age: {recipient}\n    encrypted_regex: ^(password|token)$\n"
            "    mac_only_encrypted: true\n"
        )
        extra = []  # sops finds .sops.yaml in its cwd
    else:
        extra = ["--age", recipient, *extra]
    encrypted.write_bytes(_sops(["encrypt", *extra, str(plain)], tmp_path))
    by_sops = load_bytes("sops", _sops(["decrypt", str(encrypted)], tmp_path, key_file)).data
    ours = decrypt_documents([encrypted], key_file)[str(encrypted)]
    assert ours == by_sops
    assert ours["spec"]["nested"]["items"][1]["token"] == "ty"


def test_texts_and_plain_files(keyed: tuple[Path, str], tmp_path: Path) -> None:
    key_file, recipient = keyed
    source = tmp_path / "doc.yaml"
    source.write_text(DOC)
    text = _sops(
        ["encrypt", "--age", recipient, "--encrypted-regex", "^password$", str(source)], tmp_path
    ).decode()
    out = decrypt_documents({"a.yaml": text, "plain.yaml": DOC}, key_file)
    assert out["a.yaml"]["spec"]["password"] == "s3cr3t"
    assert out["plain.yaml"] == load_bytes("p", DOC.encode()).data


def test_python_keys_are_accepted_by_sops(keyed: tuple[Path, str], tmp_path: Path) -> None:
    key_file, recipient = keyed
    source = tmp_path / "doc.yaml"
    source.write_text(DOC)
    encrypted = tmp_path / "enc.yaml"
    encrypted.write_bytes(_sops(["encrypt", "--age", recipient, str(source)], tmp_path))
    assert b"s3cr3t" in _sops(["decrypt", str(encrypted)], tmp_path, key_file)
    identity = parse_identities(key_file.read_text())[0]
    assert identity.encoded().startswith("AGE-SECRET-KEY-1")
    assert identity.recipient == recipient
    assert "AGE-SECRET-KEY" not in repr(identity)


def test_recipients_are_checked_by_their_checksum() -> None:
    good = generate_identity().recipient
    assert is_recipient(good)
    assert not is_recipient(good[:-1] + ("q" if good[-1] != "q" else "p"))
    assert not is_recipient("age1notakey")


def _encrypted_value(tmp_path: Path, recipient: str, secret: str, name: str) -> Any:
    source = tmp_path / f"{name}.yaml"
    source.write_text(f"spec:\n  password: {secret}\n  host: h\n")
    text = _sops(
        ["encrypt", "--age", recipient, "--encrypted-regex", "^password$", str(source)], tmp_path
    )
    return load_bytes(name, text).data


def test_compare_secret(keyed: tuple[Path, str], tmp_path: Path) -> None:
    key_file, recipient = keyed
    ring = KeyRing.from_file(key_file)
    one = _encrypted_value(tmp_path, recipient, "alpha", "one")
    same = _encrypted_value(tmp_path, recipient, "alpha", "same")
    other = _encrypted_value(tmp_path, recipient, "beta", "other")
    keys = [data_key_of(doc, ring) for doc in (one, same, other)]
    values = [split_sops_metadata(doc)[0]["spec"]["password"] for doc in (one, same, other)]
    assert all(is_ciphertext(v) for v in values)
    assert len(set(values)) == 3
    path = ("spec", "password")
    assert compare_secret(values[0], values[0], None) == "unchanged"
    assert compare_secret(values[0], values[1], (keys[0], keys[1]), path) == "unchanged"
    assert compare_secret(values[0], values[2], (keys[0], keys[2]), path) == "changed"
    assert compare_secret(values[0], values[2], None, path) == "no key"
    assert compare_secret(values[0], values[2], (keys[0], None), path) == "no key"
    assert data_key_of(one, KeyRing(())) is None
