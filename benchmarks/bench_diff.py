"""`qv diff`, `qv review` and `qv log` on a generated 10,000-document repository with history.

    python benchmarks/bench_diff.py [--docs 10000] [--commits 500] [--repeat 5]

Setup (cached under benchmarks/out/, rebuilt when the generator changes): the repository of
``gen_repo.py`` committed, then one commit editing 100 documents of prod (the "pull request"),
and, for ``qv log``, a copy with a 500-commit history on top: each commit edits one document of
dev, staging or prod in turn, and every 100th commit edits a template (which changes every
environment without touching their files). Every figure is the median of fresh ``qv`` processes.
"Cold" runs start without ``.qv/cache/render`` (the rendered-state cache) but keep the rest of
``.qv/`` that any earlier qv command leaves; "first run" starts without ``.qv/`` at all; "warm"
keeps both.
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

DIFF_TARGET_S = 1.0
REVIEW_TARGET_S = 3.0
LOG_TARGET_S = 5.0
_NUMBER = re.compile(r"^(\s*(?:timeout_ms|max_order_notional|pool|max_inflight):\s*)(\d+)", re.M)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return done.stdout.decode()


def _bump(path: Path) -> bool:
    """Raise the first known number in a document by one; False when it has none."""
    text = path.read_text()
    new, count = _NUMBER.subn(lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", text, count=1)
    if count:
        path.write_text(new)
    return bool(count)


def _edit_documents(repo: Path, env: str, count: int) -> int:
    edited = 0
    for path in sorted((repo / "environments" / env).rglob("*.yaml")):
        if edited == count:
            break
        if path.name != "environment.yaml" and _bump(path):
            edited += 1
    return edited


def _copy(src: Path, name: str, stamp: str) -> tuple[Path, bool]:
    """A working copy of ``src`` (reused when its stamp matches); True when freshly made."""
    dest = OUT / name
    marker = dest / ".bench-diff-stamp"
    if marker.is_file() and marker.read_text() == stamp:
        return dest, False
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".qv"))
    marker.write_text(stamp)
    return dest, True


def diff_repo(docs: int) -> Path:
    base = ensure_repo(docs, git=True)
    repo, fresh = _copy(base, f"diff-{docs}", (base / ".bench-stamp").read_text())
    if fresh:
        edited = _edit_documents(repo, "prod", 100)
        assert edited == 100, f"only {edited} prod documents could be edited"
        _git(repo, "commit", "-q", "-a", "-m", "Edit 100 prod documents")
    return repo


def history_repo(docs: int, commits: int) -> Path:
    base = ensure_repo(docs, git=True)
    stamp = (base / ".bench-stamp").read_text() + f"history {commits}\n"
    repo, fresh = _copy(base, f"history-{docs}", stamp)
    if fresh:
        _make_history(repo, commits)
    return repo


def _make_history(repo: Path, commits: int) -> None:
    envs = ("dev", "staging", "prod")
    files = {e: sorted((repo / "environments" / e / "configs").glob("*.yaml")) for e in envs}
    template = repo / "templates" / "service" / "base.yaml"
    for i in range(1, commits):  # the generated commit is the first
        if i % 100 == 0 and _bump(template):
            message = f"Template edit {i}"
        else:
            env = envs[i % 3]
            path = files[env][i % len(files[env])]
            _bump(path)
            message = f"Edit {path.name} in {env} ({i})"
        _git(repo, "commit", "-q", "-a", "--allow-empty", "-m", message)


def _measure(name: str, cmd: list[str], target: float, repeat: int, cold: Path | None) -> Figure:
    runs: list[Run] = []
    for _ in range(repeat):
        if cold is not None:
            shutil.rmtree(cold, ignore_errors=True)
        runs.append(run_child(cmd))
    bad = next((r for r in runs if r.returncode != 0), None)
    if bad is not None:
        return Figure(name, None, "s", target, note=failure_note(bad))
    times = sorted(r.seconds for r in runs)
    mode = "warm" if cold is None else "first run" if cold.name == ".qv" else "cold"
    note = f"{mode}, median of {repeat}, RSS {max(r.max_rss_mb for r in runs):.0f} MB"
    return Figure(name, times[len(times) // 2], "s", target, note=note)


def _prime(repo: Path, cmd: list[str]) -> None:
    """One run that leaves the caches under ``.qv/`` that any earlier qv command would."""
    if not (repo / ".qv").is_dir():
        run_child(cmd)


def figures(docs: int, commits: int, repeat: int) -> list[Figure]:
    repo = diff_repo(docs)
    prod_docs = sum(1 for _ in (repo / "environments" / "prod").rglob("*.yaml"))
    cache = repo / ".qv" / "cache" / "render"
    diff = [QV, "-C", str(repo), "diff", "prod@HEAD~1", "prod"]
    review = [QV, "-C", str(repo), "review", "--base", "HEAD~1", "--format", "markdown"]
    _prime(repo, diff)
    out = [
        _measure(
            f"qv diff prod@HEAD~1 prod ({docs} docs, 100 changed)",
            diff,
            DIFF_TARGET_S,
            repeat,
            cache,
        ),
        _measure(
            f"qv diff prod@HEAD~1 prod ({docs} docs, 100 changed, no .qv/)",
            diff,
            DIFF_TARGET_S,
            repeat,
            repo / ".qv",
        ),
        _measure(
            "qv review --base HEAD~1 (3 environments)", review, REVIEW_TARGET_S, repeat, cache
        ),
    ]
    hist = history_repo(docs, commits)
    log = [QV, "-C", str(hist), "log", "--env", "prod", "-n", "50"]
    hcache = hist / ".qv" / "cache" / "render"
    _prime(hist, log)
    out.append(
        _measure(
            f"qv log --env prod -n 50 ({commits} commits)",
            log,
            LOG_TARGET_S,
            max(1, repeat // 2),
            hcache,
        )
    )
    out.append(
        _measure(f"qv log --env prod -n 50 ({commits} commits)", log, LOG_TARGET_S, repeat, None)
    )
    whole = [QV, "-C", str(repo), "diff", "staging", "prod"]
    informative = _measure("qv diff staging prod (whole environments)", whole, 0, 1, cache)
    out.append(Figure(informative.name, informative.value, "s", None, note=informative.note))
    print(
        f"prod renders from {prod_docs} files of environments/prod plus the bases", file=sys.stderr
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    found = figures(args.docs, args.commits, args.repeat)
    print(table(found))
    return 0 if all(f.verdict != "FAIL" for f in found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
