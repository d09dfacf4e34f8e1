"""A real Git repository with a real approval policy and real SSH keys, made per test.

Principals: alice and bob (group risk), carol (compliance), dave (dev: writes the changes).
mallory has a key but is no principal. Keys are made once per session by ssh-keygen.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from qv_config.approvals import refs, sshkeygen
from qv_config.approvals.change import Change, compute
from qv_config.approvals.statement import Statement, blob, now
from qv_config.diff.states import Workspace
from tests.inprocess import QvRun, run_qv

CASE = Path(__file__).resolve().parents[1] / "validate" / "cases" / "valid"
PEOPLE = ("alice", "bob", "carol", "dave", "mallory")
PROD_ENV = "environments/prod/environment.yaml"

POLICY = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: test}
spec:
  sources: [signed, github]
  separation_of_duties: true
  principals:
    - {identity: alice@example.com, groups: [risk], github: alice-gh}
    - {identity: bob@example.com, groups: [risk], github: bob-gh}
    - {identity: carol@example.com, groups: [compliance]}
    - {identity: dave@example.com, groups: [dev]}
  rules:
    - name: policy-edits
      changes: [policy]
      count: 2
      from_groups: [risk, compliance]
    - name: prod-any
      environments: [prod]
      changes: [any]
      count: 1
    - name: prod-loosen
      environments: [prod]
      changes: [loosen]
      count: 2
      from_groups: [risk, compliance]
"""


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for who in PEOPLE:
        path = folder / who
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(path)],
            check=True,
        )
        out[who] = path
    return out


def signer_line(keys: dict[str, Path], who: str, as_who: str | None = None) -> str:
    public = " ".join(keys[who].with_suffix(".pub").read_text().split()[:2])
    return f'{as_who or who}@example.com namespaces="qv-approval" {public}\n'


@dataclass
class Repo:
    root: Path
    keys: dict[str, Path]
    capsys: pytest.CaptureFixture[str]

    def git(self, *args: str, who: str = "dave") -> str:
        env_args = ["-c", f"user.email={who}@example.com", "-c", f"user.name={who}"]
        done = subprocess.run(
            ["git", *env_args, *args], cwd=self.root, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def commit(self, message: str, who: str = "dave", trailer: str = "") -> str:
        self.git("add", "-A", who=who)
        body = f"{message}\n\n{trailer}" if trailer else message
        self.git("commit", "-q", "--allow-empty", "-m", body, who=who)
        return self.git("rev-parse", "HEAD")

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def edit(self, path: str, old: str, new: str) -> None:
        target = self.root / path
        text = target.read_text(encoding="utf-8")
        assert old in text, (path, old)
        target.write_text(text.replace(old, new), encoding="utf-8")

    def loosen_prod(self, value: str = "2500000") -> str:
        """Raise prod's envelope max_order_notional (a ceiling: loosened) and commit."""
        self.edit(PROD_ENV, "max_order_notional: 2000000", f"max_order_notional: {value}")
        return self.commit("loosen prod order notional")

    def web_edit(self) -> str:
        """Loosen prod in a commit made on GitHub by alice: her login's noreply address as
        author and committer (separation of duties must still know her)."""
        self.edit(PROD_ENV, "max_order_notional: 2000000", "max_order_notional: 2500000")
        self.git("add", "-A")
        mail = "12345+alice-gh@users.noreply.github.com"
        who = ["-c", f"user.email={mail}", "-c", "user.name=alice"]
        subprocess.run(["git", *who, "commit", "-qm", "web edit"], cwd=self.root, check=True)
        return self.git("rev-parse", "HEAD")

    def qv(self, *args: str) -> QvRun:
        return run_qv(self.capsys, self.root, *args)

    def approve(self, who: str, base: str, env: str = "prod", *more: str) -> QvRun:
        return self.qv("approve", "--env", env, "--base", base, "--key", str(self.keys[who]), *more)

    def approvals(self, base: str, env: str = "prod", *more: str) -> QvRun:
        return self.qv("approvals", "--env", env, "--base", base, *more)


@pytest.fixture
def repo(tmp_path: Path, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> Repo:
    root = tmp_path / "repo"
    shutil.copytree(CASE, root, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
    made = Repo(root, keys, capsys)
    made.write("policy/approvals.yaml", POLICY)
    signers = "".join(signer_line(keys, who) for who in ("alice", "bob", "carol", "dave"))
    made.write("policy/allowed_signers", signers)
    made.write(".gitignore", ".qv/\n")
    made.git("init", "-q", "-b", "main")
    made.commit("initial state, policy included")
    return made


@pytest.fixture
def base_of(repo: Repo) -> Callable[[], str]:
    return lambda: repo.git("rev-parse", "HEAD")


def change_of(repo: Repo, base: str, target: str = "HEAD", env: str = "prod") -> Change:
    ws = Workspace(repo.root)
    try:
        return compute(ws, env, base, target)
    finally:
        ws.close()


def forge(
    repo: Repo,
    who: str,
    base: str,
    *,
    target: str = "HEAD",
    of_env: str = "prod",
    ref: str | None = None,
    approver: str | None = None,
    **fields: str,
) -> str:
    """Sign a statement of the change base..target (fields overridden) with ``who``'s key and
    store it under the change's target folder (or ``ref``): what an attacker can write."""
    env = of_env
    change = change_of(repo, base, target, env)
    values = {
        "env": env,
        "base_digest": change.base_digest,
        "target_digest": change.target_digest,
        "changes_digest": change.changes_digest,
        "policy_digest": change.base_policy.digest,
        "approver": approver or f"{who}@example.com",
        "created_at": now(),
        **fields,
    }
    statement = Statement(**values)
    signature = sshkeygen.sign(repo.keys[who], statement.encode())
    key = sshkeygen.public_key(repo.keys[who])
    name = ref or refs.ref_name(env, change.target_digest, key)
    refs.write(repo.root, name, blob(statement, signature))
    return name
