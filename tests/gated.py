"""A starter project whose prod comes to be governed by an approval policy, with real remotes.

``Gated.make(tmp)`` commits the starter (`qv init`) and pushes it to a bare repository
``origin.git`` that agents use as their source. ``adopt()`` then commits, as a repository adopts
approvals, ``policy/approvals.yaml`` (an edit of policy/ needs two approvers in every
environment; prod: any change needs one approver of group risk, a loosened limit two of risk or
compliance) and ``policy/allowed_signers`` with two real
ed25519 keys made by ``ssh-keygen`` (rita: risk, carl: compliance), together with a tightened prod
limit (so that it is a state of prod). Deployed over ``init`` (no policy there: nothing asked),
it makes the policy the one that governs what follows.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

RISK = "environments/prod/risk-policies/example-standard.yaml"
POLICY = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: approvals, owner: platform}
spec:
  sources: [signed]
  separation_of_duties: true
  principals:
    - identity: rita@example.com
      groups: [risk]
    - identity: carl@example.com
      groups: [compliance]
  rules:
    - name: policy-edits
      environments: ['*']
      changes: [policy]
      count: 2
    - name: prod-any-change
      environments: [prod]
      changes: [any]
      count: 1
      from_groups: [risk]
    - name: prod-risk-loosening
      environments: [prod]
      changes: [loosen]
      count: 2
      from_groups: [risk, compliance]
"""
APPROVERS = ("rita@example.com", "carl@example.com")


def git(root: Path, *args: str, input_text: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, input=input_text
    ).stdout.strip()


@dataclass(frozen=True)
class Gated:
    work: Path  # the developers' checkout
    origin: Path  # the bare remote the agent fetches from
    keys: Path  # private keys, one file per approver name (rita, carl)

    @classmethod
    def make(cls, tmp: Path) -> Gated:
        work, origin, keys = starter_repo(tmp / "work"), tmp / "origin.git", tmp / "keys"
        keys.mkdir()
        git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
        git(work, "remote", "add", "origin", str(origin))
        git(work, "push", "-q", "origin", "main")
        return cls(work, origin, keys)

    def adopt(self) -> str:
        """Commit the policy with a tightened prod limit (a state of prod) and push it."""
        (self.work / "policy").mkdir()
        (self.work / "policy" / "approvals.yaml").write_text(POLICY)
        (self.work / "policy" / "allowed_signers").write_text(_signers(self.keys))
        git(self.work, "add", "policy")
        rev = self.set_limit(900000, "adopt an approval policy; prod notional 900000")
        self.push()
        return rev

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def push(self) -> None:
        git(self.work, "push", "-q", "origin", "main")

    def set_limit(self, value: int, message: str = "") -> str:
        """Commit prod's max_order_notional = ``value`` (above 1000000 loosens it)."""
        path = self.work / RISK
        lines = path.read_text().splitlines(keepends=True)
        lines = [
            f"    max_order_notional: {value}\n" if ln.strip().startswith("max_order_notional:")
            else ln
            for ln in lines
        ]  # fmt: skip
        path.write_text("".join(lines))
        git(self.work, "commit", "-qam", message or f"prod notional {value}")
        return self.head()

    def approve(self, who: str, rev: str, base: str, env: str = "prod", push: bool = True) -> None:
        """``qv approve`` as ``who`` (rita, carl) with their key; pushed to origin by default."""
        from tests.qvbin import QV

        args = ["approve", "--env", env, "--rev", rev, "--base", base]
        args += ["--key", str(self.keys / who), "--as", f"{who}@example.com"]
        done = subprocess.run(
            [QV, *args, *(["--push"] if push else [])],
            cwd=self.work,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def delete_policy_and_loosen(self, value: int) -> str:
        """The attack: one commit that deletes the policy and loosens a prod limit."""
        git(self.work, "rm", "-q", "policy/approvals.yaml")
        return self.set_limit(value, "tidy up policy; prod notional")


def starter_repo(root: Path) -> Path:
    """`qv init`'s starter committed on ``main`` of a new repository at ``root``."""
    from qv_config.scaffold import write_starter

    root.mkdir(parents=True)
    write_starter(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def _signers(keys: Path) -> str:
    lines = []
    for identity in APPROVERS:
        name = identity.split("@")[0]
        key = keys / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", identity, "-f", str(key)],
            check=True,
            capture_output=True,
        )
        public = (keys / f"{name}.pub").read_text().split()
        lines.append(f'{identity} namespaces="qv-approval" {public[0]} {public[1]}\n')
    return "".join(lines)
