"""`qv approvals` of a 1,000-document change with 5 signed approvals (issue 11: <= 1 s cold).

    python benchmarks/bench_approvals.py [--docs 10000] [--changed 1000] [--repeat 5]

Setup (under benchmarks/out/, rebuilt when the generator changes): the generated repository
committed with a policy of five principals (one rule for prod, count 5) and their keys, then one
commit editing ``--changed`` documents of prod, approved by all five (``qv approve``, not timed).
"Cold" runs start without ``.qv/cache/render`` and ``.qv/cache/approvals`` (the rendered-state
caches) but keep the rest of ``.qv/`` that an earlier qv command leaves, as bench_diff.py;
"warm" keeps them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import OUT, QV, Figure, ensure_repo, failure_note, run_child, table
from bench_diff import _edit_documents, _git

TARGET_S = 1.0
PEOPLE = ("ann", "ben", "cat", "dan", "eve")


def _policy() -> str:
    principals = "".join(f"    - {{identity: {p}@example.com, groups: [risk]}}\n" for p in PEOPLE)
    return (
        "apiVersion: qv/v1\nkind: ApprovalPolicy\nmetadata: {name: bench}\nspec:\n"
        f"  principals:\n{principals}"
        "  rules:\n    - {name: prod, environments: [prod], count: 5, from_groups: [risk]}\n"
    )


def _keys(repo: Path) -> dict[str, Path]:
    folder = repo.parent / f"{repo.name}-keys"
    folder.mkdir(exist_ok=True)
    out = {}
    for who in PEOPLE:
        key = folder / who
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True)  # fmt: skip
        out[who] = key
    return out


def approvals_repo(docs: int, changed: int) -> tuple[Path, str]:
    """The repository, its base revision (before the change), approvals in place."""
    src = ensure_repo(docs, git=True)
    stamp = (src / ".bench-stamp").read_text() + f"approvals {changed}\n"
    repo = OUT / f"approvals-{docs}"
    marker = repo / ".bench-approvals-stamp"
    if marker.is_file() and marker.read_text() == stamp:
        return repo, _git(repo, "rev-parse", "HEAD~1").strip()
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(src, repo, ignore=shutil.ignore_patterns(".qv"))
    keys = _keys(repo)
    (repo / "policy").mkdir(exist_ok=True)
    (repo / "policy" / "approvals.yaml").write_text(_policy())
    lines = [f"{who}@example.com {' '.join(keys[who].with_suffix('.pub').read_text().split()[:2])}"
             for who in PEOPLE]  # fmt: skip
    (repo / "policy" / "allowed_signers").write_text("\n".join(lines) + "\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=admin@example.com", "commit", "-q", "-m", "policy")
    base = _git(repo, "rev-parse", "HEAD").strip()
    edited = _edit_documents(repo, "prod", changed)
    assert edited == changed, f"only {edited} prod documents could be edited"
    _git(repo, "-c", "user.email=dev@example.com", "commit", "-q", "-a", "-m", "change")
    for who in PEOPLE:
        done = run_child([QV, "-C", str(repo), "approve", "--env", "prod", "--base", base,
                          "--key", str(keys[who])])  # fmt: skip
        assert done.returncode == 0, done.stderr
    marker.write_text(stamp)
    return repo, base


def measure(docs: int, changed: int, repeat: int) -> list[Figure]:
    repo, base = approvals_repo(docs, changed)
    cmd = [QV, "-C", str(repo), "approvals", "--env", "prod", "--base", base]
    run_child(cmd)  # leaves the caches any earlier command would (parse, blobs)
    figures = []
    cache = repo / ".qv" / "cache"
    for mode, cold in (("cold", (cache / "render", cache / "approvals")), ("warm", ())):
        runs = []
        for _ in range(repeat):
            for folder in cold:
                shutil.rmtree(folder, ignore_errors=True)
            runs.append(run_child(cmd))
        bad = next((r for r in runs if r.returncode != 0), None)
        name = f"qv approvals, {changed}-document change, 5 approvals ({mode})"
        if bad is not None:
            figures.append(Figure(name, None, "s", TARGET_S, note=failure_note(bad)))
            continue
        times = sorted(r.seconds for r in runs)
        note = f"median of {repeat}, {docs} documents, RSS {max(r.max_rss_mb for r in runs):.0f} MB"
        target = TARGET_S if mode == "cold" else None
        figures.append(Figure(name, times[len(times) // 2], "s", target, note=note))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(table(measure(args.docs, args.changed, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
