"""The starter configuration repository written by ``qv init``.

The starter tree is package data under ``scaffold/starter/``: a small repository of the same shape
as a real one (qv.yaml, three environments, one service config and its schema, one kill-switch
flag, one strategy with its risk policy, two template levels) that validates as written.

Public API: ``write_starter(dest, *, force=False) -> list[Path]``, ``starter_files()``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from qv_config.errors import OperationalError, UsageError

__all__ = ["starter_files", "write_starter"]

_STARTER = "starter"
# Never part of the starter even if they appear in the package folder (caches, runtime state).
_SKIP_DIRS = frozenset({"__pycache__", ".qv"})


def starter_files() -> dict[str, bytes]:
    """Repo-relative POSIX path -> content of every file of the starter tree, sorted by path."""
    out: dict[str, bytes] = {}
    _collect(files(__package__ or "qv_config.scaffold") / _STARTER, "", out)
    return dict(sorted(out.items()))


def _collect(folder: Traversable, prefix: str, out: dict[str, bytes]) -> None:
    for entry in folder.iterdir():
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name not in _SKIP_DIRS:
                _collect(entry, f"{rel}/", out)
        elif not entry.name.endswith((".pyc", ".pyo")):
            out[rel] = entry.read_bytes()


def write_starter(dest: Path, *, force: bool = False) -> list[Path]:
    """Write the starter tree into ``dest`` (created if missing); return the files written.

    Without ``force`` nothing is written when any starter file already exists, so a refused run
    never leaves a half-written tree behind.
    """
    tree = starter_files()
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory", hint="choose another DIR")
    if not force:
        _refuse_existing(dest, tree)
    written: list[Path] = []
    for rel, content in tree.items():
        target = dest.joinpath(*rel.split("/"))
        _write(target, content)
        written.append(target)
    return written


def _refuse_existing(dest: Path, tree: dict[str, bytes]) -> None:
    existing = [rel for rel in tree if dest.joinpath(*rel.split("/")).exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise UsageError(
            f"{dest / existing[0]} already exists{more}; qv init does not overwrite files",
            hint="pass --force to overwrite them, or choose an empty DIR",
        )


def _write(target: Path, content: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise UsageError(
                f"{target} is a directory; qv init needs to write a file there",
                hint="move it away or choose another DIR",
            )
        target.write_bytes(content)
    except OSError as err:
        raise OperationalError(
            f"cannot write {target}: {err.strerror or err}",
            hint="check the permissions of the target directory",
        ) from None
