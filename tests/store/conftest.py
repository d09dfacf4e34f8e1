"""Store test fixtures. The server fixtures come from tests/conftest.py (tests/servers.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed starter project (qv init) in a real Git repository."""
    from tests.starter import committed_starter

    return committed_starter(tmp_path / "proj")


def git_out(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def etcdctl_out(port: int, *args: str) -> str:
    out = subprocess.run(
        ["etcdctl", f"--endpoints=127.0.0.1:{port}", *args],
        check=True,
        capture_output=True,
        text=True,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
    )
    return out.stdout


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Any:
    """Helpers for test modules (conftest is not importable by name): ``sh.git(root, ...)`` ->
    stdout, ``sh.etcdctl(port, ...)`` -> stdout, ``sh.qv(root, ...)`` -> (exit code, out, err)
    of the CLI run in process."""
    from types import SimpleNamespace

    from qv_config.cli.__main__ import main

    def qv(root: Path, *args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stop:
            main(["-C", str(root), *args])
        out = capsys.readouterr()
        return int(stop.value.code or 0), out.out, out.err

    return SimpleNamespace(git=git_out, etcdctl=etcdctl_out, qv=qv)


@pytest.fixture
def encrypted_dev(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dev's example-service with its ``http`` endpoint SOPS-encrypted (age) and committed;
    SOPS_AGE_KEY_FILE set. Returns the key file (outside the project)."""
    from qv_config.secrets import generate_identity, key_file_text
    from qv_config.secrets.ops import encrypt_file

    identity = generate_identity()
    key_file = tmp_path / "dev.agekey"
    key_file.write_text(key_file_text(identity, "# test key"), encoding="utf-8")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file))
    (project / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^environments/dev/.*\n"
        f"    age: {identity.recipient}\n"
        "    encrypted_regex: ^http$\n"
    )
    encrypt_file(project / "environments/dev/configs/example-service.yaml")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "encrypt")
    return key_file
