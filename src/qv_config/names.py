"""Names given on the command line that must be able to name something in the repository: an
environment (``--env E``, ``E@REV``) and a selector (``kind/name`` with globs).

Checked by each command before it reads a file or runs git: a name that no ``qv.yaml`` can hold
(100,000 characters, a control character, a ``/``) is a usage error (exit 2) saying what a name
looks like, never a path lookup or a git argument list that fails with an internal error.
Kept free of imports beyond ``re`` and ``errors``: every command calls it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qv_config.errors import UsageError

# metadata.name of every document (models.common.NAME_PATTERN), and so of an environment: its
# Environment document is named after it, and qv.yaml's spec.environments holds such names.
NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
NAME_RULE = "lower-case letters, digits, '.' and '-', starting with a letter or digit, at most 63"
# A selector part is a glob over a kind slug or a name (at most 63): room for classes and stars.
_SELECTOR_PART = 128
_PRINTABLE = re.compile(r"[!-~]+")  # visible ASCII: every name, slug and glob character


def check_env(text: str) -> str:
    """``text`` when it can be the name of an environment, else a UsageError."""
    if NAME.fullmatch(text) is None:
        raise UsageError(
            f"unknown environment {text!r}: no environment of qv.yaml can have this name",
            hint=f"environment names are {NAME_RULE} characters (see spec.environments in qv.yaml)",
        )
    return text


def env_hint(env: str, names: Iterable[str]) -> str:
    """The hint of an unknown environment: the closest name, and those qv.yaml has."""
    import difflib

    known = list(names)
    close = difflib.get_close_matches(env, known, n=1)
    listed = f"environments of qv.yaml: {', '.join(known) or '(none)'}"
    return f"did you mean {close[0]}? {listed}" if close else listed


def check_envs(texts: Iterable[str]) -> list[str]:
    return [check_env(text) for text in texts]


def check_selector(text: str) -> str:
    """``text`` when its kind and name parts can match a document (visible ASCII, each part at
    most 128 characters); its shape (``kind/name``) is checked by ``render.selectors``."""
    kind, _, name = text.partition("/")
    if not _PRINTABLE.fullmatch(text) or max(len(kind), len(name)) > _SELECTOR_PART:
        raise UsageError(
            f"selector {text!r} can match no document",
            hint=f"write kind/name with shell globs, e.g. strategy/momentum-*; names are "
            f"{NAME_RULE} characters",
        )
    return text


def check_selectors(texts: Iterable[str]) -> list[str]:
    return [check_selector(text) for text in texts]
