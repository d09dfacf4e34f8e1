"""The project's ``.qv/`` folder (caches, the default SQLite store): never reached through a link.

A repository can commit anything under ``.qv/`` (``git add -f``), links included: a fresh clone
then has them, and qv writing or reading through one would touch whatever it points at —
outside the repository, a FIFO that blocks, another project's store. So every folder on the way
from ``.qv`` to a file qv uses must be a real folder, and the file itself a regular file or
absent; each is looked at with ``lstat``, which never follows a link. See docs/performance.md,
"The cache".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

QV_DIR = ".qv"


def refused(root: Path, inside: str) -> str | None:
    """Of ``root/.qv``, the folders of ``inside`` (a path relative to it, ``/``-separated) and
    its last entry, the first that is there but is not a real folder (the last entry: not a
    regular file), relative to ``root``; None when each is right or absent (what is absent is
    made by qv when it writes: ``real_folders``). Strings, not pathlib: the sealer asks this of
    every cache file a run opens."""
    names = inside.split("/")
    where = os.path.join(root, QV_DIR)
    for depth in range(len(names) + 1):
        where = os.path.join(where, names[depth - 1]) if depth else where
        try:
            mode = os.lstat(where).st_mode
        except FileNotFoundError:
            return None  # nothing below a missing folder exists either
        except OSError:
            mode = 0
        if not (stat.S_ISREG if depth == len(names) else stat.S_ISDIR)(mode):
            return os.path.relpath(where, root)
    return None


def file_refused(root: Path, path: Path) -> str | None:
    """``refused`` for ``path`` when it lies under ``root/.qv/``; None when it does not (a path
    given explicitly elsewhere is the user's choice, links and all)."""
    top = os.path.join(os.path.normpath(root), QV_DIR) + os.sep
    where = os.path.normpath(path)
    if not where.startswith(top):
        return None
    return refused(root, where[len(top) :].replace(os.sep, "/"))


def real_folders(top: Path, folder: Path) -> None:
    """Make ``folder`` (``top``, a ``.qv`` folder, or below it) one level at a time, each a real
    folder: OSError when a link or a file is in the way (``mkdir(parents=True)`` follows it)."""
    steps = folder.relative_to(top).parts
    for depth in range(len(steps) + 1):
        where = top.joinpath(*steps[:depth])
        try:
            os.mkdir(where)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(where).st_mode):
                raise NotADirectoryError(f"not a real folder: {where}") from None
