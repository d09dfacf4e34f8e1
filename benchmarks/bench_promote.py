"""`qv promote` of 100 documents and a whole-environment `qv diff` on the generated
10,000-document repository.

    python benchmarks/bench_promote.py [--docs 10000] [--repeat 5]

Setup (cached under benchmarks/out/, rebuilt when the generator changes): the repository of
``gen_repo.py`` committed, then one commit editing 100 Config documents of staging (the change
to promote). Measured, each the median of fresh ``qv`` processes:

- ``qv promote staging prod config/<each of the 100>``: plan, edits, the result rendered and
  validated, a branch and a commit (the branch is deleted between runs); warm, as on a
  developer's checkout (the render and validation caches of earlier commands kept);
- ``qv diff staging prod`` of the whole environments, what an unselected promote computes:
  cold (without ``.qv/cache/render``, the rendered-state cache; the rest of ``.qv/`` kept, as a
  ``qv validate`` of the tree leaves it) and warm.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import OUT, QV, Figure, Run, ensure_repo, failure_note, run_child, table

PROMOTE_TARGET_S = 2.0
DIFF_COLD_TARGET_S = 1.5
DIFF_WARM_TARGET_S = 0.5
BRANCH = "bench/promote"
_NUMBER = re.compile(r"^(\s*(?:timeout_ms|max_order_notional|pool|max_inflight):\s*)(\d+)", re.M)
_NAME = re.compile(r"^  name: (\S+)$", re.M)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode()


def _edit_configs(repo: Path, count: int) -> list[str]:
    """Raise the first known number of ``count`` staging Configs by one; their selectors."""
    selectors: list[str] = []
    for path in sorted((repo / "environments" / "staging" / "configs").glob("*.yaml")):
        text = path.read_text()
        new, bumped = _NUMBER.subn(lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", text, 1)
        name = _NAME.search(text)
        if bumped and name:
            path.write_text(new)
            selectors.append(f"config/{name.group(1)}")
        if len(selectors) == count:
            break
    return selectors


def promote_repo(docs: int) -> tuple[Path, list[str]]:
    base = ensure_repo(docs, git=True)
    dest = OUT / f"promote-{docs}"
    marker = dest / ".bench-promote-stamp"
    stamp = (base / ".bench-stamp").read_text()
    if not (marker.is_file() and marker.read_text() == stamp):
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(base, dest, ignore=shutil.ignore_patterns(".qv"))
        with (dest / ".git" / "info" / "exclude").open("a") as exclude:
            exclude.write(".bench-*\n")  # the benchmark's own files: the tree stays clean
        selectors = _edit_configs(dest, 100)
        assert len(selectors) == 100, f"only {len(selectors)} staging Configs could be edited"
        _git(dest, "commit", "-q", "-a", "-m", "Edit 100 staging Configs")
        (dest / ".bench-selectors").write_text("\n".join(selectors) + "\n")
        marker.write_text(stamp)
    return dest, (dest / ".bench-selectors").read_text().split()


def _drop_branch(repo: Path) -> None:
    git = ["git", "-C", str(repo), "branch", "-q", "-D", BRANCH]
    subprocess.run(git, check=False, capture_output=True)  # absent: nothing to drop


def _median(name: str, runs: list[Run], target: float, note: str) -> Figure:
    bad = next((r for r in runs if r.returncode != 0), None)
    if bad is not None:
        return Figure(name, None, "s", target, note=failure_note(bad))
    times = sorted(r.seconds for r in runs)
    rss = max(r.max_rss_mb for r in runs)
    return Figure(name, times[len(times) // 2], "s", target, note=f"{note}, RSS {rss:.0f} MB")


def figures(docs: int, repeat: int) -> list[Figure]:
    repo, selectors = promote_repo(docs)
    promote = [QV, "-C", str(repo), "promote", "staging", "prod", *selectors,
               "--branch", BRANCH]  # fmt: skip
    diff = [QV, "-C", str(repo), "diff", "staging", "prod"]
    _drop_branch(repo)
    shutil.rmtree(repo / ".qv", ignore_errors=True)
    run_child([QV, "-C", str(repo), "validate"])  # the caches a developer's checkout has
    run_child(diff)
    cold = []
    for _ in range(repeat):
        shutil.rmtree(repo / ".qv" / "cache" / "render", ignore_errors=True)
        cold.append(run_child(diff))
    warm = [run_child(diff) for _ in range(repeat)]
    runs = []
    for _ in range(repeat):
        _drop_branch(repo)
        runs.append(run_child(promote))
    _drop_branch(repo)
    return [
        _median(f"qv promote staging prod (100 of {docs} docs)", runs, PROMOTE_TARGET_S,
                f"warm, median of {repeat}"),
        _median("qv diff staging prod (whole environments)", cold, DIFF_COLD_TARGET_S,
                f"cold, median of {repeat}"),
        _median("qv diff staging prod (whole environments)", warm, DIFF_WARM_TARGET_S,
                f"warm, median of {repeat}"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    found = figures(args.docs, args.repeat)
    print(table(found))
    return 0 if all(f.verdict != "FAIL" for f in found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
