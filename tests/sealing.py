"""Acting as another user (or machine) for sealed cache files: another seal key."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from qv_config.repo import statefile


@contextlib.contextmanager
def machine(home: Path) -> Iterator[None]:
    """This test process acting as the machine whose seal key lives under ``home``."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(home)
    statefile._token.cache_clear()
    try:
        yield
    finally:
        if before is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = before
        statefile._token.cache_clear()
