"""The real qv run with a pseudo-terminal as its standard error (progress is drawn only there)."""

from __future__ import annotations

import os
import pty
import select
import subprocess


def run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the real qv with a pseudo-terminal as standard error; its bytes and exit code."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    proc.communicate(timeout=60)
    return proc.returncode, b"".join(chunks).decode(errors="replace")
