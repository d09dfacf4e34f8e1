"""Finding the project root: the nearest directory upwards holding ``qv.yaml``."""

from __future__ import annotations

from pathlib import Path

from qv_config.errors import ProjectError


def find_root(start: Path) -> Path:
    here = start.resolve()
    for candidate in (here, *here.parents):
        if (candidate / "qv.yaml").is_file():
            return candidate
    raise ProjectError(
        f"no qv.yaml in {here} or any parent directory",
        hint="run qv inside a configuration repository, pass -C DIR, or create one with `qv init`",
    )
