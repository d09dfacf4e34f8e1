"""Selectors ``kind/name`` with shell-style globs (SPEC §3): ``strategy/*``, ``*/momentum-*``.

The kind part matches the kind slug (``risk-policy``) or the kind name (``RiskPolicy``), both
case-insensitively.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from qv_config.errors import UsageError
from qv_config.render.types import KIND_SLUGS


@dataclass(frozen=True, slots=True)
class Selector:
    text: str
    kind: str  # lower-cased glob
    name: str  # lower-cased glob

    def matches(self, kind: str, name: str) -> bool:
        slug = KIND_SLUGS.get(kind, kind.lower())
        kind_ok = fnmatchcase(slug, self.kind) or fnmatchcase(kind.lower(), self.kind)
        return kind_ok and fnmatchcase(name.lower(), self.name)


def parse_selector(text: str) -> Selector:
    kind, sep, name = text.partition("/")
    if not sep or not kind or not name or "/" in name:
        raise UsageError(
            f"selector {text!r} is not kind/name",
            hint="write e.g. strategy/momentum-eu, strategy/* or */momentum-*",
        )
    return Selector(text, kind.lower(), name.lower())


def parse_selectors(texts: Sequence[str]) -> tuple[Selector, ...]:
    return tuple(parse_selector(text) for text in texts)


def selected(selectors: Sequence[Selector], kind: str, name: str) -> bool:
    return not selectors or any(sel.matches(kind, name) for sel in selectors)


def check_all_match(
    selectors: Sequence[Selector], present: Iterable[tuple[str, str]], env: str
) -> None:
    """A selector that matches no document is a usage error naming close documents."""
    pairs = list(present)
    for sel in selectors:
        if not any(sel.matches(kind, name) for kind, name in pairs):
            labels = sorted(f"{KIND_SLUGS.get(k, k.lower())}/{n}" for k, n in pairs)
            close = difflib.get_close_matches(sel.text.lower(), labels, n=3, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "run qv render without selectors to list documents"
            )
            raise UsageError(
                f"selector {sel.text!r} matches no document of environment {env!r}", hint=hint
            )
