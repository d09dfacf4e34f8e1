"""Shared helpers of the benchmarks: timing child processes, figures with targets, tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
VENV_BIN = Path(sys.executable).parent
QV = str(VENV_BIN / "qv")


@dataclass(frozen=True)
class Run:
    """One finished child process: wall time, peak resident memory, exit code and output."""

    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system, the child and the workers it waited for


@dataclass(frozen=True)
class Figure:
    """One measured figure and the target it is held against (``target`` None: informative)."""

    name: str
    value: float | None  # None: could not be measured (see note)
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        if self.target is None:
            return "-"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if ok else "FAIL"

    def cells(self) -> list[str]:
        value = "—" if self.value is None else f"{_number(self.value)} {self.unit}"
        sign = "≥" if self.higher_is_better else "≤"
        target = "" if self.target is None else f"{sign} {self.target:g} {self.unit}"
        return [self.name, value, target, self.verdict, self.note]


def _number(value: float) -> str:
    # Three significant digits, but never scientific notation in a table people read.
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def run_child(
    cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> Run:
    """Run ``cmd`` to completion; ``os.wait4`` gives this child's own peak RSS (KiB on Linux)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    # Read before waiting so a large report cannot fill the pipe and stall the child.
    out, err = (
        proc.stdout.read() if proc.stdout else b"",
        proc.stderr.read() if proc.stderr else b"",
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, out.decode(), err.decode(), cpu)


EDITED = "environments/dev/configs/svc-0001.yaml"


def edit_value(repo: Path, step: int) -> None:
    """Change one Config value (``pool`` of svc-0001 in dev) to another valid one."""
    import re

    path = repo / EDITED
    text = path.read_text(encoding="utf-8")
    new = re.sub(
        r"^(\s+pool: )(\d+)$",
        lambda m: f"{m.group(1)}{(int(m.group(2)) + step) % 40 + 1}",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    path.write_text(new, encoding="utf-8")


def median_seconds(cmd: Sequence[str], repeat: int = 7) -> tuple[float, Run]:
    runs = [run_child(cmd) for _ in range(repeat)]
    return statistics.median(r.seconds for r in runs), runs[-1]


def table(figures: Sequence[Figure]) -> str:
    """A markdown table of figures (what ``run.py`` prints and docs/benchmarks.md holds)."""
    head = ["figure", "measured", "target", "verdict", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(f.cells()) + " |" for f in figures]
    return "\n".join(lines)


def failure_note(run: Run) -> str:
    """The last line qv printed on error, to explain a figure that could not be measured."""
    lines = (run.stderr or run.stdout).strip().splitlines()
    last = lines[-1] if lines else ""
    return f"exit {run.returncode}: {last[:120]}".replace("|", "/")


def ensure_bytecode() -> None:
    """Compile qv's modules to bytecode first, as installing a package does.

    An editable install writes ``__pycache__`` only when Python may (PYTHONDONTWRITEBYTECODE
    unset); otherwise every qv process would compile ~100 modules from source (~0.1 s), which
    no installed qv does. Timing that would measure the set-up, not qv."""
    import compileall

    import qv_config

    compileall.compile_dir(str(Path(qv_config.__file__).parent), quiet=1)


def ensure_repo(docs: int, seed: int = 0, git: bool = False) -> Path:
    """Generate (or reuse) ``benchmarks/out/repo-<docs>``; reuse needs the same parameters.
    Also compiles qv to bytecode (``ensure_bytecode``): every benchmark starts here."""
    from gen_repo import generate, git_commit

    ensure_bytecode()

    out = OUT / f"repo-{docs}-s{seed}{'-git' if git else ''}"
    stamp = out / ".bench-stamp"
    want = _generator_stamp(docs, seed)
    if stamp.is_file() and stamp.read_text() == want:
        return out
    generate(out, docs, seed)
    if git:
        git_commit(out)
    stamp.write_text(want)
    return out


def _generator_stamp(docs: int, seed: int) -> str:
    # The generator's own source is part of the key: editing it regenerates the repository.
    import hashlib

    here = Path(__file__).resolve().parent
    code = b"".join(
        (here / name).read_bytes() for name in ("gen_repo.py", "gen_kinds.py", "gen_services.py")
    )
    return f"{docs} {seed} {hashlib.sha256(code).hexdigest()}\n"
