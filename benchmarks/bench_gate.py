"""Benchmark the agent's approval gate: what it adds to one apply (target ≤ 100 ms).

Run: .venv/bin/python benchmarks/bench_gate.py [--docs 10000] [--rounds 7]

On the generated repository (``gen_repo.py``), a copy adopts an approval policy (prod: any change
needs one approver of group risk) with two fresh ed25519 keys, then one prod Config value
changes; rita approves it (``qv approve``). A bare mirror of that copy is what ``qv agent`` reads.
The agent renders the deployed and the new state anyway (to apply and to plan); the gate is what
it adds: ``qv_config.gate.check`` on the mirror — read the deployed state's policy strictly, and
the approvals core's verdict (the change, the approval refs, ``ssh-keygen -Y verify``). Timed in
one process after those renders, as in the agent: the first check (the core's state cache in the
mirror empty) and the next ``--rounds``; also a check where the policy asks nothing (dev).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ensure_repo

TARGET_MS = 100.0
PROD_DOC = "environments/prod/configs/svc-0001.yaml"
DEV_DOC = "environments/dev/configs/svc-0001.yaml"
POLICY = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: approvals, owner: platform}
spec:
  principals:
    - {identity: rita@example.com, groups: [risk]}
    - {identity: carl@example.com, groups: [compliance]}
  rules:
    - {name: prod-any-change, environments: [prod], changes: [any], count: 1, from_groups: [risk]}
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def qv(repo: Path, *args: str) -> None:
    qv_bin = Path(sys.executable).with_name("qv")
    subprocess.run([str(qv_bin), *args], cwd=repo, check=True, capture_output=True, text=True)


def bump(repo: Path, doc: str) -> str:
    path = repo / doc
    new = lambda m: f"{m[1]}{int(m[2]) % 40 + 1}"  # noqa: E731
    text = re.sub(r"(pool: )(\d+)", new, path.read_text(), count=1)
    path.write_text(text)
    git(repo, "commit", "-qam", f"bump {doc}")
    return git(repo, "rev-parse", "HEAD")


def prepare(tmp: Path, docs: int) -> tuple[Path, str, str, str]:
    """(mirror, base, prod target, dev target): the policy adopted at base, rita's approval."""
    work = tmp / "work"
    git(tmp, "clone", "-q", str(ensure_repo(docs, git=True)), str(work))
    git(work, "config", "user.email", "dev@example.com")
    signers = []
    for name in ("rita", "carl"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / name)], check=True
        )
        kind, blob = (tmp / f"{name}.pub").read_text().split()[:2]
        signers.append(f'{name}@example.com namespaces="qv-approval" {kind} {blob}\n')
    (work / "policy").mkdir()
    (work / "policy" / "approvals.yaml").write_text(POLICY)
    (work / "policy" / "allowed_signers").write_text("".join(signers))
    git(work, "add", "policy")
    git(work, "commit", "-qm", "adopt an approval policy")
    base = git(work, "rev-parse", "HEAD")
    prod = bump(work, PROD_DOC)
    dev = bump(work, DEV_DOC)
    qv(work, "approve", "--env", "prod", "--rev", prod, "--base", base,
       "--key", str(tmp / "rita"), "--as", "rita@example.com")  # fmt: skip
    git(tmp, "clone", "-q", "--mirror", str(work), str(tmp / "mirror.git"))
    return tmp / "mirror.git", base, prod, dev


def timed_checks(mirror: Path, env: str, base: str, target: str, rounds: int) -> list[float]:
    from qv_config.gate import check
    from qv_config.gate.rendered import Rendered
    from qv_config.store.source import render_desired

    old = render_desired(mirror, env, base, check=False)  # what the agent renders anyway
    new = render_desired(mirror, env, target)
    times = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        decision = check(mirror, env, base, old.digest, target, new.digest, Rendered(old, new))
        times.append((time.perf_counter() - started) * 1000)
        assert decision.approved, decision.reason
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qv-bench-gate-") as tmp:
        mirror, base, prod, dev = prepare(Path(tmp), args.docs)
        for env, target, what in (("prod", prod, "approved by rita"), ("dev", dev, "none asked")):
            times = timed_checks(mirror, env, base, target, args.rounds)
            first, rest = times[0], times[1:]
            verdict = "✓" if statistics.median(rest) <= TARGET_MS else "✗"
            print(
                f"gate, {args.docs} documents, {env} ({what}): first {first:.0f} ms, then median"
                f" {statistics.median(rest):.0f} ms (max {max(rest):.0f}) — target"
                f" ≤ {TARGET_MS:.0f} ms {verdict}"
            )


if __name__ == "__main__":
    main()
