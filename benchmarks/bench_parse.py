"""The parse phase of a first ``qv sync`` in one process: what each forked parse worker does
(``repo.prefetch._parse_chunk`` over its part: ``git cat-file``, hash, parse, encode), then
what the parent does from the workers' end to the render workers' start (``store.source``'s
``_render`` with ``check``: unpacking the outcomes, the snapshot, ``validate_checked`` up to
the fork of the render workers).

    python benchmarks/bench_parse.py [--docs 50000 | --repo PATH] [--env dev|all]
                                     [--part workers|between] [--dump FILE] [--callgrind]

The work of the two workers is done here one after the other (``prefetch.in_workers`` runs
its job in this process); the render is not run (its fork is where the count stops). Prints
the CPU of each part and per file. ``--dump`` writes the snapshot with marshal (each
document's path, digest and value typed exactly: bool, int and float apart; each finding:
code, message, file, line, column): two versions of qv must write equal dumps. For counts
that do not drift with the machine's load, run under ``valgrind --tool=callgrind
--instr-atstart=no ... --callgrind --part P``: only part P is counted. Compare versions
with ``PYTHONPATH=<other>/src`` (``git archive REV src``).
"""

from __future__ import annotations

import argparse
import gc
import marshal
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import ensure_repo


class _RenderStarts(Exception):
    """Raised where the render workers would be forked: the count ends there."""


class _Harness:
    def __init__(self, part: str, callgrind: bool) -> None:
        self.part, self.callgrind = part, callgrind
        self.cpu = {"workers": 0.0, "between": 0.0}
        self.files = 0
        self.outcomes: dict[str, Any] = {}
        self._started = 0.0

    def count(self, part: str, on: bool) -> None:
        now = time.process_time()
        if on:
            self._started = now
        else:
            self.cpu[part] += now - self._started
        if self.callgrind and part == self.part:
            switch = "on" if on else "off"
            subprocess.run(["callgrind_control", "-i", switch, str(_pid())], check=True,
                           capture_output=True)  # fmt: skip

    def in_workers(
        self,
        job: Callable[[Any], Any],
        items: list[Any],
        waiting: Callable[[], None] | None = None,
        meanwhile: Callable[[], None] | None = None,
        then: Callable[[int, Any], Any] | None = None,
        **_forked: Any,
    ) -> list[Any]:
        """``prefetch.in_workers`` (and ``forked``): the parse workers' jobs one after the
        other, here; the render workers' fork ends the run."""
        if self.files:
            self.count("between", False)
            raise _RenderStarts
        if meanwhile is not None:  # the parent's own work while workers parse: not counted
            meanwhile()
        gc.collect()
        self.count("workers", True)
        results = [job(item) for item in items]
        self.count("workers", False)
        self.files = sum(map(len, items))
        self.count("between", True)
        return results


def _pid() -> int:
    import os

    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50000)
    parser.add_argument("--repo", type=Path, help="a generated repository (default: --docs')")
    parser.add_argument("--env", default="dev", help="an environment, or 'all' (load only)")
    parser.add_argument("--part", choices=("workers", "between"), default="workers")
    parser.add_argument("--dump", type=Path, help="write each file's outcome here")
    parser.add_argument("--callgrind", action="store_true", help="count --part only")
    args = parser.parse_args()
    repo = args.repo or ensure_repo(args.docs, git=True)
    shutil.rmtree(repo / ".qv", ignore_errors=True)  # a first deploy: no memo of any kind
    harness = _Harness(args.part, args.callgrind)
    _run(repo, args.env, harness)
    files = harness.files
    for part, cpu in harness.cpu.items():
        print(f"{part}: {cpu:.3f} s CPU, {cpu / files * 1e6:.1f} us per file ({files} files)")
    if args.dump:
        args.dump.write_bytes(marshal.dumps(harness.outcomes))


def _run(repo: Path, env: str, harness: _Harness) -> None:
    import qv_config.repo
    from qv_config.repo import prefetch
    from qv_config.repo.git import GitSource
    from qv_config.store import source

    prefetch.in_workers = harness.in_workers  # type: ignore[assignment]
    if hasattr(prefetch, "forked"):  # the parse workers' own forks (else in_workers)
        prefetch.forked = lambda job, items, meanwhile, **kw: harness.in_workers(  # type: ignore[attr-defined]
            job, items, meanwhile=meanwhile, **kw
        )
    load = qv_config.repo.load_snapshot

    def loaded(*args: Any, **kwargs: Any) -> Any:
        snapshot = load(*args, **kwargs)
        harness.count("between", False)  # not the copy made for --dump
        harness.outcomes = _outcomes(snapshot)
        harness.count("between", True)
        return snapshot

    qv_config.repo.load_snapshot = loaded  # type: ignore[assignment]
    gc.disable()  # as in a cold load (``load_snapshot``), and workers forked from it
    try:
        if env == "all":
            loaded(GitSource(repo, "HEAD"), use_cache=False)
            harness.count("between", False)
        else:
            source._render(repo, env, "HEAD", check=True)
    except _RenderStarts:
        pass
    finally:
        gc.enable()


def _outcomes(snapshot: Any) -> dict[str, Any]:
    """Each document's digest and value (typed), each finding, the encrypted files."""
    docs = {**snapshot.bases, **{f"t:{k}": v for k, v in snapshot.templates.items()}}
    for files in snapshot.environments.values():
        docs.update(files.documents)
        docs.update({f"o:{files.name}:{k}": v for k, v in files.overlays.items()})
        if files.environment is not None:
            docs[f"e:{files.name}"] = files.environment
    return {
        "docs": {key: (doc.path, doc.digest, _typed(doc.data)) for key, doc in docs.items()},
        "findings": [repr(finding) for finding in snapshot.findings],
        "encrypted": sorted(snapshot.encrypted),
    }


def _typed(value: Any) -> Any:
    """``value`` with each scalar's and container's type named (1, 1.0 and True differ)."""
    kind = type(value).__name__
    if isinstance(value, dict):
        return (kind, [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return (kind, [_typed(item) for item in value])
    if type(value) is float:  # -0.0 and 0.0 apart, NaN equal to NaN
        return (kind, repr(value))
    return (kind, value)


if __name__ == "__main__":
    main()
