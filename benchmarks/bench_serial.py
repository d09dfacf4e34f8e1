"""The serial parts of a first ``qv sync --env dev`` (no ``.qv/``, a new SQLite store), in the
parent process: ``start`` from the interpreter's start to the fork of the parse workers,
``post`` from the end of the render workers to the end of the command; ``render``, the
parent's own work while the render workers run (forking them, its ``meanwhile``: the parse
memo written, the apply's imports; taking their parts as they end).

    valgrind --tool=callgrind --instr-atstart=yes python benchmarks/bench_serial.py start
    valgrind --tool=callgrind --instr-atstart=no python benchmarks/bench_serial.py post|render

Under callgrind only that phase of the parent is counted (``callgrind_control -i``); ``start``
exits at the fork. Without valgrind it prints the wall and CPU seconds of the phase. Compare
versions with ``PYTHONPATH=<other>/src`` (``git archive REV src``), each on its own copy of the
repository (``--repo``). Counts of ``post`` include sha256 (the values' hashes, the caches'
MACs) without the SHA extensions valgrind does not run: ~0.8 G of its instructions.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _under_valgrind() -> bool:
    return "valgrind" in os.environ.get("LD_PRELOAD", "") or bool(os.environ.get("VALGRIND_LIB"))


def _mark(phase: str, what: str, since: list[float]) -> None:
    if _under_valgrind():
        subprocess.run(["callgrind_control", "-i", what, str(os.getpid())], check=True,
                       capture_output=True)  # fmt: skip
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    now = [time.perf_counter(), usage.ru_utime + usage.ru_stime]
    if what == "off":
        print(f"{phase}: {now[0] - since[0]:.3f} s wall, {now[1] - since[1]:.3f} s CPU")
    since[:] = now


def main() -> None:
    phase = sys.argv[1] if len(sys.argv) > 1 else "post"
    at = sys.argv.index("--repo") + 1 if "--repo" in sys.argv else 0
    since = [time.perf_counter(), time.process_time()]
    if at:
        repo = Path(sys.argv[at])
    else:
        from bench_common import ensure_repo

        repo = ensure_repo(50000, git=True)
    shutil.rmtree(repo / ".qv", ignore_errors=True)
    for name in (".bench-store.db", ".bench-store.db-wal", ".bench-store.db-shm"):
        (repo / name).unlink(missing_ok=True)
    from qv_config.repo import prefetch

    # The parse workers' fork ends ``start``; the render workers' end starts ``post``: the first
    # and the second fork of workers, ``prefetch.forked`` or (older versions) ``in_workers``.
    calls = [0]

    def counted(real: Any) -> Any:
        def workers(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if phase == "start" and calls[0] == 1:
                _mark(phase, "off", since)
                os._exit(0)
            if phase == "render" and calls[0] == 2:
                _mark(phase, "on", since)
            done = real(*args, **kwargs)
            if phase == "render" and calls[0] == 2:
                _mark(phase, "off", since)
                os._exit(0)
            if phase == "post" and calls[0] == 2:
                _mark(phase, "on", since)
            return done

        return workers

    for name in ("forked", "in_workers"):
        if hasattr(prefetch, name):
            setattr(prefetch, name, counted(getattr(prefetch, name)))
    from qv_config.cli.app import run

    store = f"sqlite:{repo}/.bench-store.db"
    with contextlib.suppress(SystemExit):  # the command's exit code: not measured here
        run(["-C", str(repo), "sync", "--env", "dev", "--store", store])
    _mark(phase, "off", since)


if __name__ == "__main__":
    main()
