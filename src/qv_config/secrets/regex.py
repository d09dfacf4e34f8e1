"""Regexes the repository supplies, run as sops runs them: with RE2 (``google-re2``).

``encrypted_regex`` and the like in a file's sops metadata, and ``path_regex`` and
``encrypted_regex`` in ``.sops.yaml``, are text anyone with commit access writes. Python's
backtracking ``re`` takes exponential time on some patterns (``^(a|a)+$`` against 35 characters
hangs for minutes), and every key of every encrypted file is tested. sops itself uses Go's
``regexp``, which is RE2: linear time, and the same syntax, so a pattern RE2 refuses (a
lookahead, a backreference) is one sops cannot use either.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol


class Regex(Protocol):
    """What qv asks of a compiled pattern (``re2._Regexp``, which has no type stubs)."""

    def search(self, text: str) -> Any: ...


class BadRegex(ValueError):
    """A pattern RE2 (so Go, so sops) refuses; the message says why."""


@lru_cache(maxsize=512)
def compile_re2(pattern: str) -> Regex:
    """``pattern`` compiled by RE2 (cached: the same few patterns recur in every file)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised as BadRegex; nothing printed to stderr
    try:
        compiled: Regex = re2.compile(pattern, options)
    except re2.error as bad:
        reason = bad.args[0] if bad.args else bad
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise BadRegex(text) from None
    return compiled


@lru_cache(maxsize=1 << 16)
def searches(pattern: str, text: str) -> bool:
    """Whether ``pattern`` (RE2) matches somewhere in ``text``; cached, since the same key names
    and paths recur in every file and one call through the ``re2`` wrapper costs microseconds.
    ``BadRegex`` if RE2 refuses the pattern (callers have checked it with ``re2_problem``)."""
    return compile_re2(pattern).search(text) is not None


def re2_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    try:
        compile_re2(pattern)
    except BadRegex as bad:
        return str(bad)
    return None
