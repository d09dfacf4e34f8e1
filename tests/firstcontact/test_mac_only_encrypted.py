"""`mac_only_encrypted` (issue 14): a non-secret field of an encrypted file can be edited by hand
without the key, and `qv secrets encrypt` changes only the encrypted values and the sops block."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from tests.firstcontact.gittree import commit_all
from tests.inprocess import run_qv

from qv_config.secrets.binary import sops_binary

KEY = "keys/demo-dev.agekey"
OMS = "environments/dev/configs/order-management.yaml"


pytestmark = pytest.mark.usefixtures("no_key")


def _sops_decrypt(root: Path, rel: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(root / KEY), "SOPS_DISABLE_VERSION_CHECK": "1"}
    return subprocess.run(
        [str(sops_binary()), "decrypt", rel],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_rule_and_every_dev_file_is_mac_only_encrypted(
    own_tree: Callable[[], Path],
) -> None:
    root = own_tree()
    rules = yaml.safe_load((root / ".sops.yaml").read_text())["creation_rules"]
    assert all(rule.get("mac_only_encrypted") is True for rule in rules)
    dev = [p for p in (root / "environments/dev").rglob("*.yaml") if "\nsops:" in p.read_text()]
    assert len(dev) == 4
    for path in dev:
        assert yaml.safe_load(path.read_text())["sops"]["mac_only_encrypted"] is True, path


def test_a_hand_edited_risk_limit_in_an_encrypted_file_still_validates_and_syncs(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    path = root / OMS
    text = path.read_text()
    assert "    max_order_notional: 500000\n" in text
    path.write_text(text.replace("max_order_notional: 500000", "max_order_notional: 400000"))
    commit_all(root, "tighten the OMS order-notional throttle by hand, without sops")
    key = str(root / KEY)
    checked = run_qv(capsys, root, "validate", "--no-cache", "--key-file", key)
    assert checked.code == 0, checked.out
    assert "QV603" not in checked.out
    synced = run_qv(capsys, root, "sync", "--env", "dev", "--key-file", key)
    assert synced.code == 0, synced.err
    assert _sops_decrypt(root, OMS).returncode == 0  # and sops itself agrees


LAYOUT = """\
# A service config as a person writes it: comments, inline maps, 4-space indentation.
apiVersion: qv/v1
kind: Config
metadata: {name: layout-test, owner: team-oms}   # inline, kept inline
spec:
    region: eu-west-1      # a trailing comment
    database: {host: db.internal, password: "hunter2", port: 5432}
    broker:
        # the broker's credentials
        username: qv
        password: s3cret-value     # rotated monthly

        token: >-
          folded
          token
    venues: [XLON, XETR]
    api_keys:
        - name: vendor-a
          api_key: 'abc'
# the end
"""


def test_encrypt_changes_only_the_secret_values_and_adds_the_sops_block(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    rel = "environments/dev/configs/layout-test.yaml"
    (root / rel).write_text(LAYOUT)
    done = run_qv(capsys, root, "secrets", "encrypt", str(root / rel))
    assert done.code == 0, done.err
    after = (root / rel).read_text()
    body, sops_block = after.split("\nsops:\n", 1)
    before_lines, after_lines = LAYOUT.splitlines(), body.splitlines()
    secret = ("hunter2", "s3cret-value", "folded", "token", "'abc'")
    changed = [i for i, line in enumerate(before_lines) if any(s in line for s in secret)]
    # The folded block's three lines become one: every other line stays, byte for byte.
    assert after_lines[: changed[0]] == before_lines[: changed[0]]
    kept = [line for i, line in enumerate(before_lines) if i not in changed]
    assert [line for line in after_lines if "ENC[AES256_GCM," not in line] == kept
    assert after_lines[6].startswith('    database: {host: db.internal, password: "ENC[AES256_GCM,')
    assert after_lines[6].endswith(", port: 5432}")
    assert "ENC[" in after_lines[10]
    assert after_lines[10].endswith("     # rotated monthly")  # a secret's own comment stays
    assert "mac_only_encrypted: true" in sops_block
    plain = _sops_decrypt(root, rel)
    assert plain.returncode == 0, plain.stderr
    data = yaml.safe_load(plain.stdout)
    assert data["spec"]["database"]["password"] == "hunter2"
    assert data["spec"]["broker"]["password"] == "s3cret-value"
    assert data["spec"]["broker"]["token"] == "folded token"
    assert data["spec"]["api_keys"][0]["api_key"] == "abc"
    assert data["spec"]["database"]["port"] == 5432


def test_a_file_that_cannot_keep_its_layout_is_refused_and_left_alone(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    rel = "environments/dev/configs/comment-in-secret.yaml"
    text = (
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: comment-in-secret}\nspec:\n"
        "  api_key: [x, y]   # sops encrypts this comment as an item of the list\n"
    )
    (root / rel).write_text(text)
    done = run_qv(capsys, root, "secrets", "encrypt", str(root / rel))
    assert done.code == 3
    assert "cannot encrypt in place keeping the file's layout" in done.err
    assert (root / rel).read_text() == text
