"""The team workflow of docs/approvals.md and docs/promotion.md, run as written on a temp clone
of this repository: promote → pull request → `qv approvals` (the required check) fails →
two approvers sign and push → the check passes → the up-to-date branch is merged → the agent
applies → `qv history` shows the approvers. Real Git (a bare origin, one clone per person),
real ssh-keygen with the DEMO approver keys, real sops/age, the `qv` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.qvbin import QV

MAIN = Path(__file__).resolve().parents[2]
COPY = ("qv.yaml", ".sops.yaml", "schemas", "templates", "strategies", "environments", "policy")
DEV_OVERLAY = "environments/dev/strategies/momentum-eu.yaml"
APPROVERS = ("rita.risk", "colin.compliance")


class Team:
    """One bare origin and a clone per person, all under ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        self.key = tmp / "staging.agekey"
        self.store = f"sqlite:{tmp / 'staging.db'}"

    def run(self, cwd: Path, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NO_COLOR": "1", "SOPS_AGE_KEY_FILE": str(self.key)}
        env.pop("QV_STORE", None)
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=180, check=False
        )
        if ok:
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done

    def qv(self, cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(cwd, QV, *args, ok=ok)

    def git(self, cwd: Path, *args: str) -> str:
        return self.run(cwd, "git", *args).stdout.strip()

    def clone(self, who: str) -> Path:
        path = self.tmp / who
        self.git(self.tmp, "clone", "-q", str(self.origin), str(path))
        self.git(path, "config", "user.email", f"{who}@quantivista.example")
        self.git(path, "config", "user.name", who)
        return path


@pytest.fixture
def team(tmp_path: Path) -> Team:
    made = Team(tmp_path)
    seed = tmp_path / "seed"
    seed.mkdir()
    for name in COPY:
        source = MAIN / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, seed / name)
    (seed / ".gitignore").write_text(".qv/\n")
    made.git(seed, "init", "-q", "-b", "main")
    made.git(seed, "add", "-A")
    made.git(
        seed,
        "-c",
        "user.email=platform@quantivista.example",
        "-c",
        "user.name=platform",
        "commit",
        "-q",
        "-m",
        "the configuration repository",
    )
    # Staging's real key is not in the repository: the demo's helper re-keys it (and commits).
    made.run(
        seed, "bash", str(MAIN / "scripts" / "demo-staging-key.sh"), QV, str(seed), str(made.key)
    )
    made.git(tmp_path, "clone", "-q", "--bare", str(seed), str(made.origin))
    return made


def test_the_documented_workflow_runs_as_written(team: Team) -> None:
    ops = team.clone("platform")
    # docs/agent.md "First deploys": staging's policy covers any strategy change.
    team.qv(
        ops,
        "sync",
        "--env",
        "staging",
        "--store",
        team.store,
        "--break-glass",
        "--reason",
        "first deploy of staging",
    )
    base = team.git(ops, "rev-parse", "HEAD")

    # 1. The change, made and merged in dev (docs/promotion.md step 1).
    dev = team.clone("dev")
    with (dev / DEV_OVERLAY).open("a", encoding="utf-8") as f:
        f.write("    lookback_days: {value: 273}\n")
    team.qv(dev, "validate", "--env", "dev")
    team.git(dev, "commit", "-q", "-am", "momentum-eu: lookback 273 days, tried in dev")
    team.git(dev, "push", "-q", "origin", "HEAD:main")

    # 2. Promote, pushed as a branch (the pull request's head).
    promoted = team.qv(dev, "promote", "dev", "staging", "strategy/momentum-eu", "--push")
    branch = next(
        line.split()[1].rstrip(":")
        for line in promoted.stdout.splitlines()
        if line.startswith("branch ")
    )
    pr_base = team.git(dev, "rev-parse", "HEAD")  # main, which the pull request targets
    body = team.qv(dev, "promote", "dev", "staging", "strategy/momentum-eu", "--dry-run",
                   "--format", "markdown").stdout  # fmt: skip
    assert "`spec.parameters.lookback_days.value` | `252 → 273`" in body

    # 3. CI's required check (.github/workflows/approvals.yml) fails: approvals missing.
    ci = team.clone("ci")
    team.git(ci, "fetch", "-q", "--no-tags", "origin", "+refs/qv/approvals/*:refs/qv/approvals/*")
    team.git(ci, "checkout", "-q", f"origin/{branch}")
    unmet = team.qv(ci, "approvals", "--base", pr_base, "--rev", "HEAD", ok=False)
    assert unmet.returncode == 1, unmet.stderr
    assert "rule staging-strategies: 2 more approver(s) from risk, compliance" in unmet.stdout

    # 4. Each approver reads the diff and signs (docs/approvals.md step 3), keys copied 600.
    for who in APPROVERS:
        mine = team.clone(who)
        team.git(mine, "fetch", "-q", "origin")
        team.git(mine, "checkout", "-q", branch)
        diff = team.qv(mine, "diff", "staging@origin/main", "staging")
        assert "lookback_days" in diff.stdout
        key = team.tmp / f"{who}.key"
        shutil.copy(MAIN / "keys" / "demo-approvers" / who, key)
        key.chmod(0o600)
        signed = team.qv(
            mine,
            "approve",
            "--env",
            "staging",
            "--base",
            "origin/main",
            "--key",
            str(key),
            "--push",
        )
        assert f"as {who}@quantivista.example" in signed.stdout

    # 5. The check, re-run, passes and names who approved.
    team.git(ci, "fetch", "-q", "--no-tags", "origin", "+refs/qv/approvals/*:refs/qv/approvals/*")
    met = team.qv(ci, "approvals", "--base", pr_base, "--rev", "HEAD")
    assert "staging: approvals met" in met.stdout
    for who in APPROVERS:
        assert f"{who}@quantivista.example via signed" in met.stdout

    # 6. The up-to-date branch is merged (a merge commit, as the forge's button makes).
    merger = team.clone("maintainer")
    team.git(merger, "merge", "-q", "--no-ff", "-m", "Merge the promotion", f"origin/{branch}")
    team.git(merger, "push", "-q", "origin", "HEAD:main")

    # 7. The agent fetches main and the approvals, verifies them and applies.
    agent = team.qv(
        team.tmp,
        "agent",
        "--env",
        "staging",
        "--source",
        str(team.origin),
        "--branch",
        "main",
        "--store",
        team.store,
        "--once",
        ok=False,
    )
    assert agent.returncode == 0, (agent.stdout, agent.stderr)

    # 8. qv history shows the approvers; the first deploy shows as the break-glass it was.
    history = team.qv(ops, "history", "--env", "staging", "--store", team.store).stdout
    assert (
        "approved by colin.compliance@quantivista.example, rita.risk@quantivista.example" in history
    )
    assert "BREAK-GLASS (approvals missing)" in history
    assert base != pr_base
