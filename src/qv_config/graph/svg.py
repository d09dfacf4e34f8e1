"""SVG from DOT text by Graphviz's ``dot`` binary: the one process this package starts."""

from __future__ import annotations

import shutil
import subprocess

from qv_config.errors import OperationalError

TIMEOUT = 60.0  # seconds: a graph of thousands of documents takes dot a few


def to_svg(dot_text: str) -> str:
    """The SVG drawing of ``dot_text``; ``OperationalError`` (exit 3) without Graphviz."""
    binary = shutil.which("dot")
    if binary is None:
        raise OperationalError(
            "--format svg needs the dot program of Graphviz, which is not installed",
            hint="install graphviz (apt-get install graphviz, brew install graphviz), "
            "or use --format dot or mermaid",
        )
    try:
        done = subprocess.run(
            [binary, "-Tsvg"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OperationalError(
            f"dot did not run: {err}", hint="check the Graphviz install"
        ) from None
    if done.returncode != 0:
        last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise OperationalError(f"dot failed: {last[0]}", hint="check the Graphviz install")
    return done.stdout.decode()
