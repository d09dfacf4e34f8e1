"""``--key-file``: the age key of every command that decrypts (SPEC §6, §8).

The core finds its key as sops does (``SOPS_AGE_KEY_FILE``, then sops' default file;
``secrets.keyring.default_key_file``), also in the worker processes validation forks. So the
option names the file for this one command by setting ``SOPS_AGE_KEY_FILE`` while it runs, and
puts the previous value back after it (a process may run several commands: tests, the agent's
host). A flag wins over the environment variable, as every qv setting does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

KEY_FILE: Any = typer.Option(
    None,
    "--key-file",
    help="age key file to decrypt secrets with (default: SOPS_AGE_KEY_FILE).",
    show_default=False,
)
VALIDATE_KEY_FILE: Any = typer.Option(
    None,
    "--key-file",
    help="age key file: verify MACs and check secret fields' plaintext (default:"
    " SOPS_AGE_KEY_FILE; without a key neither is checked).",
    show_default=False,
)


@contextlib.contextmanager
def using_key_file(key_file: Path | None) -> Iterator[None]:
    """Decrypt with ``key_file`` (when given) inside the block: a missing file is exit 2."""
    if key_file is None:
        yield
        return
    from qv_config.secrets.keyfile import KEY_FILE_HINT, key_file_problem

    problem = key_file_problem(key_file)
    if problem is not None:
        from qv_config.errors import UsageError

        raise UsageError(f"--key-file {key_file}: {problem}", hint=KEY_FILE_HINT)
    before = os.environ.get("SOPS_AGE_KEY_FILE")
    os.environ["SOPS_AGE_KEY_FILE"] = str(key_file.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOPS_AGE_KEY_FILE", None)
        else:
            os.environ["SOPS_AGE_KEY_FILE"] = before
