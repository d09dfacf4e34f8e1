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


def folder_refused(root: Path, parts: tuple[str, ...]) -> str | None:
    """Of ``root/.qv/<parts...>`` (folders), the first that is there but is not a real folder
    (a link, a file), relative to ``root``; None when each is a folder or absent (made by qv
    when it writes, ``real_folders``)."""
    folder = str(root)
    for part in (QV_DIR, *parts):
        folder = os.path.join(folder, part)
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return os.path.relpath(folder, root)
        except FileNotFoundError:
            return None  # nothing below a missing folder exists either
        except OSError:
            return os.path.relpath(folder, root)
    return None


def file_refused(root: Path, path: Path) -> str | None:
    """For ``path`` under ``root/.qv/``: the first of its folders from ``.qv`` and itself that
    is there but is not what it should be (a link, a FIFO, ...), relative to ``root``; None when
    all are right or absent, or when ``path`` is not under ``root/.qv/`` (a path given
    explicitly elsewhere is the user's choice, links and all)."""
    try:
        inside = Path(os.path.normpath(path)).relative_to(Path(os.path.normpath(root)) / QV_DIR)
    except ValueError:
        return None
    refused = folder_refused(root, inside.parts[:-1])
    if refused is not None or not inside.parts:
        return refused
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError:
        mode = 0
    return None if stat.S_ISREG(mode) else os.path.relpath(path, root)


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
