"""The ``qv`` console script under test: the one installed beside the running interpreter.

Tests run from any folder (CI clones main elsewhere): never name a checkout's path. The script
next to ``sys.executable`` is the one ``pip install -e`` made for the code being tested.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find() -> str:
    beside = Path(sys.executable).with_name("qv")
    if beside.is_file():
        return str(beside)
    found = shutil.which("qv")
    if found is None:
        raise RuntimeError(
            f"no qv console script beside {sys.executable} or on PATH: run `make test`"
        )
    return found


QV = _find()
