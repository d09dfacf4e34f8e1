"""What ``qv validate`` does once its options are read: by click (``cli.validate``) or, for
the common command lines, without it (``cli.quick``). Free of typer and click."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def validate_and_report(
    env: Sequence[str],
    output_format: str,
    no_cache: bool,
    paths: Sequence[str],
    key_file: Path | None,
) -> int:
    """Validate the work tree and write the report; the exit code (1: findings that fail)."""
    from qv_config import report
    from qv_config.cli.output import progress_bar, write
    from qv_config.cli.state import OPTIONS
    from qv_config.names import check_envs
    from qv_config.repo import find_root
    from qv_config.validate.worktree import validate_worktree

    reporter = report.get(output_format)  # an unknown format fails before any work (exit 2)
    check_envs(env)
    start = OPTIONS.start_dir()
    root = find_root(start)
    selected = _repo_paths(root, start.resolve(), list(paths))
    with _keys(key_file):
        result, read = validate_worktree(
            root, list(env) or None, selected, use_cache=not no_cache, progress=progress_bar()
        )
    write(reporter(result, read=read, color=_color() and output_format == "text"))
    return 0 if result.ok else 1


def _keys(key_file: Path | None) -> contextlib.AbstractContextManager[None]:
    """``--key-file`` for the run (``cli.keys``, which imports typer: only when given)."""
    if key_file is None:
        return contextlib.nullcontext()
    from qv_config.cli.keys import using_key_file

    return using_key_file(key_file)


def _repo_paths(root: Path, start: Path, paths: list[str]) -> list[str]:
    """PATH arguments (relative to the start directory) as repository-relative POSIX paths."""
    from qv_config.errors import UsageError

    out = []
    for raw in paths:
        # Lexically, then with its folder resolved: a link named is the link, not its target.
        full = Path(os.path.normpath(start / raw))
        for candidate in (full, Path(os.path.realpath(full.parent)) / full.name):
            if candidate.is_relative_to(root):
                out.append(candidate.relative_to(root).as_posix())
                break
        else:
            raise UsageError(
                f"path {raw!r} is outside the project {root}",
                hint="give paths inside the configuration repository",
            )
    return out


def _color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()
