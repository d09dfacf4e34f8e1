"""Reading an age key file: a regular file of bounded size, or a clear usage error (exit 2).

The path comes from ``--key-file`` or ``SOPS_AGE_KEY_FILE``. Read whole and unchecked, a device
(``/dev/zero``) or a huge file grows memory until the process dies; a directory or ``/dev/null``
would be reported as "no such file". An age key file holds a few hundred bytes per key, so
anything over ``KEY_FILE_LIMIT`` is not one.
"""

from __future__ import annotations

import stat
from pathlib import Path

from qv_config.errors import OperationalError, UsageError

KEY_FILE_LIMIT = 1 << 20  # 1 MiB: thousands of keys
KEY_FILE_HINT = "give the path of an age key file (`qv secrets keygen --out FILE` makes one)"
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def key_file_problem(key_file: Path) -> str | None:
    """Why ``key_file`` (links followed) cannot be an age key file, or None when it may be."""
    try:
        info = key_file.stat()
    except FileNotFoundError:
        return "no such file"
    except OSError as bad:
        return f"cannot be read ({bad.strerror or bad})"
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        return f"{kind}, not an age key file"
    if info.st_size > KEY_FILE_LIMIT:
        return "larger than 1 MiB: not an age key file"
    return None


def read_key_file(key_file: Path, named_by: str = "age key file") -> str:
    """The text of ``key_file``; ``UsageError`` (exit 2) naming ``named_by`` and the path when it
    is missing, not a regular file, too large or not UTF-8; ``OperationalError`` when the system
    refuses to read it (permissions)."""
    problem = key_file_problem(key_file)
    if problem is not None:
        raise UsageError(f"{named_by} {key_file}: {problem}", hint=_hint(named_by))
    try:
        with key_file.open("rb") as handle:
            raw = handle.read(KEY_FILE_LIMIT + 1)  # bounded even if it grew since the stat
    except OSError as bad:
        raise OperationalError(f"{named_by} {key_file} cannot be read: {bad}") from None
    if len(raw) > KEY_FILE_LIMIT:
        raise UsageError(f"{named_by} {key_file}: larger than 1 MiB", hint=_hint(named_by))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"{named_by} {key_file}: not UTF-8 text, not an age key file", hint=_hint(named_by)
        ) from None


def _hint(named_by: str) -> str:
    if named_by == "SOPS_AGE_KEY_FILE":
        return "point SOPS_AGE_KEY_FILE at an age key file, or pass --key-file"
    return KEY_FILE_HINT
