"""`qv init` gives a tree where the next commands work (issue 14): a Git repository with the
tree committed (unless --no-git), a `.sops.yaml` naming a fresh dev key marked as one, and the
next three commands printed, which then run clean."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.firstcontact.gittree import git
from tests.qvbin import QV

from qv_config.secrets.agekeys import parse_identities

pytestmark = pytest.mark.usefixtures("no_key")


def _qv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A new user's machine: git knows no identity (HOME empty), no key, no colour.
    env = {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        env.pop(name, None)
    done = subprocess.run(
        [QV, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert "Traceback" not in done.stderr
    return done


def _next_commands(out: str) -> list[str]:
    return [line.strip() for line in out.split("Next:\n", 1)[1].splitlines() if line.strip()]


def test_init_then_the_three_commands_it_prints_run_clean(tmp_path: Path) -> None:
    made = _qv(tmp_path, "init", "repo")
    assert made.returncode == 0, made.stderr
    root = tmp_path / "repo"
    assert git(root, "status", "--porcelain") == ""  # everything committed
    assert git(root, "branch", "--show-current").strip() == "main"
    key = root / "keys/dev.agekey"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_text = key.read_text()
    assert key_text.startswith("# DEV KEY")
    rules = yaml.safe_load((root / ".sops.yaml").read_text())["creation_rules"]
    assert [r["age"] for r in rules] == [parse_identities(key_text)[0].recipient]
    assert rules[0]["mac_only_encrypted"] is True
    assert (
        "api_key: ENC[AES256_GCM,"
        in (root / "environments/dev/configs/example-service.yaml").read_text()
    )
    commands = _next_commands(made.stdout)
    assert [c.removeprefix(f"cd {root} && ") for c in commands] == [
        "qv validate",
        "qv sync --env dev --key-file keys/dev.agekey",
        "qv review",
    ]
    for command in commands:
        args = command.removeprefix(f"cd {root} && ").split()[1:]
        done = _qv(root, *args)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    synced = _qv(root, "sync", "--env", "dev", "--key-file", "keys/dev.agekey", "--format", "json")
    assert '"status": "unchanged"' in synced.stdout
    rendered = _qv(root, "render", "--env", "dev", "config/example-service", "--decrypt",
                   "--key-file", "keys/dev.agekey")  # fmt: skip
    assert "api_key: dev-example-api-key" in rendered.stdout


def test_init_no_git_leaves_git_alone_and_says_to_commit(tmp_path: Path) -> None:
    made = _qv(tmp_path, "init", "--no-git", "repo")
    assert made.returncode == 0, made.stderr
    assert not (tmp_path / "repo/.git").exists()
    assert "git add -A && git commit" in made.stdout
    assert (tmp_path / "repo/.sops.yaml").is_file()


def test_init_inside_a_git_repository_does_not_nest_one(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    made = _qv(tmp_path, "init", "config")
    assert made.returncode == 0, made.stderr
    assert not (tmp_path / "config/.git").exists()
    assert "git add -A && git commit" in made.stdout


def test_init_keeps_an_existing_sops_config_without_force(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules: []\n")
    refused = _qv(tmp_path, "init")
    assert refused.returncode == 2
    assert ".sops.yaml already exists" in refused.stderr
    assert (tmp_path / ".sops.yaml").read_text() == "creation_rules: []\n"
    assert not (tmp_path / "qv.yaml").exists()
