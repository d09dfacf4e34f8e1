"""Every command that decrypts takes ``--key-file`` (issue 14): sync, drift, rollback, agent,
render --decrypt and validate, on this repository's own tree, with no key in the environment;
and an error that asks for a key names only options that exist."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.inprocess import run_qv

KEY = "keys/demo-dev.agekey"


pytestmark = pytest.mark.usefixtures("no_key")


@pytest.mark.parametrize("command", ["sync", "drift", "rollback", "agent", "render", "validate"])
def test_every_decrypting_command_lists_key_file_in_its_help(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    done = run_qv(capsys, tmp_path, command, "--help")
    assert done.code == 0
    assert "--key-file" in done.out


def test_sync_drift_rollback_and_render_decrypt_with_key_file(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    key = str(root / KEY)
    refused = run_qv(capsys, root, "sync", "--env", "dev")
    assert refused.code == 3
    assert "no key to decrypt" in refused.err
    assert "--key-file" in refused.err  # and sync takes it:
    synced = run_qv(capsys, root, "sync", "--env", "dev", "--key-file", key, "--format", "json")
    assert synced.code == 0, synced.err
    deployed = json.loads(synced.out)["to"]["revision"]
    drift = run_qv(capsys, root, "drift", "--env", "dev", "--key-file", key)
    assert drift.code == 0, drift.err
    assert "no drift" in drift.out
    back = run_qv(
        capsys, root, "rollback", "--env", "dev", "--to", deployed, "--reason", "test",
        "--key-file", key,
    )  # fmt: skip
    assert back.code == 0, back.err
    shown = run_qv(
        capsys, root, "render", "--env", "dev", "config/order-management", "--decrypt",
        "--key-file", key,
    )  # fmt: skip
    assert shown.code == 0, shown.err
    assert "ENC[" not in shown.out
    assert "SOPS_AGE_KEY_FILE" not in os.environ  # the option's key does not outlive the command


def test_agent_once_decrypts_with_key_file(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path], tmp_path: Path
) -> None:
    root = own_tree()
    args = ("agent", "--env", "dev", "--source", str(root), "--once")
    store = ("--store", f"sqlite:{tmp_path / 'agent.db'}")
    refused = run_qv(capsys, tmp_path, *args, *store)
    assert refused.code == 3  # no key: operational, and the hint names the option it has
    assert "--key-file" in refused.err
    done = run_qv(capsys, tmp_path, *args, *store, "--key-file", str(root / KEY))
    assert done.code == 0, done.err


def test_validate_verifies_macs_only_with_the_key(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    path = root / "environments/dev/configs/order-management.yaml"
    text = path.read_text()
    at = text.index("password: ENC[AES256_GCM,data:") + len("password: ENC[AES256_GCM,data:")
    flipped = "A" if text[at] != "A" else "B"
    path.write_text(text[:at] + flipped + text[at + 1 :])  # ciphertext altered outside sops
    assert run_qv(capsys, root, "validate", "--env", "dev").code == 0  # no key: not checked
    checked = run_qv(
        capsys, root, "validate", "--env", "dev", "--no-cache", "--key-file", str(root / KEY)
    )
    assert checked.code == 1
    assert "QV603" in checked.out


def test_a_missing_key_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    done = run_qv(capsys, root, "sync", "--env", "dev", "--key-file", str(root / "nope.key"))
    assert done.code == 2
    assert "--key-file" in done.err
    assert "no such file" in done.err
