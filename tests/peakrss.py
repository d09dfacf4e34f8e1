"""The peak resident memory of one command, not inherited from the test process.

Linux keeps the highest RSS a process ever had across ``exec``, and a child started straight
from pytest starts with pytest's own (vfork/posix_spawn share pytest's memory until the exec):
after tests that grew pytest to 400 MB, a 60 MB ``qv`` would read as 400 MB. A small Python
trampoline forks the command instead; a forked child's peak starts from the trampoline's few MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# argv: RESULT_FILE KILL_AFTER CMD...; writes "exit_code peak_kib" to RESULT_FILE. The command is
# killed after KILL_AFTER seconds (its exit code is then negative: it hung).
_TRAMPOLINE = """
import os, signal, sys
result, kill_after, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.alarm(kill_after)
_pid, status, usage = os.wait4(pid, 0)
with open(result, "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


@dataclass(frozen=True)
class Measured:
    code: int
    out: bytes
    err: bytes
    peak_rss_mb: float


def run_measured(
    cmd: list[str], result_dir: Path, *, env: dict[str, str] | None = None, kill_after: int = 120
) -> Measured:
    """Run ``cmd``; its exit code, output and own peak RSS in MB (killed after ``kill_after``
    seconds: the code is then negative)."""
    result = result_dir / f"peak-{os.getpid()}-{id(cmd)}.txt"
    done = subprocess.run(
        [sys.executable, "-c", _TRAMPOLINE, str(result), str(kill_after), *cmd],
        capture_output=True,
        env=env,
        check=False,
    )
    if not result.exists():
        raise RuntimeError(f"the trampoline failed: {done.stderr.decode(errors='replace')}")
    code, kib = result.read_text().split()
    result.unlink()
    return Measured(int(code), done.stdout, done.stderr, int(kib) / 1024)
