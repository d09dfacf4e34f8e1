"""PATH arguments of ``qv validate`` (and of the commands that read PATHs as it does).

Apart from the engine (``validate.api``) so that a warm run that finds its result kept reads
its options without importing the engine and its rules.
"""

from __future__ import annotations

from collections.abc import Sequence


def normalise(paths: Sequence[str]) -> tuple[str, ...]:
    """PATH arguments as repository-relative prefixes ("" for the whole tree)."""
    out = []
    for raw in paths:
        path = raw.replace("\\", "/").strip("/")
        while path.startswith("./"):
            path = path[2:]
        out.append("" if path == "." else path)
    return tuple(out)


def under(file: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``file`` is at or under one of ``prefixes``."""
    return any(not p or file == p or file.startswith(p + "/") for p in prefixes)
