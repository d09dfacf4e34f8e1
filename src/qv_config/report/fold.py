"""Folding findings that differ only by environment into one entry ("in dev, staging, prod").

Every finding reporter starts here, so this is also where findings become safe to show
(``findings.shown``: names and field paths escaped and clipped; messages are bounded already).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from qv_config.findings import Finding, shown
from qv_config.safetext import safe


@dataclass(frozen=True)
class Folded:
    finding: Finding  # with env=None
    envs: tuple[str, ...]  # the environments it applies to, in first-seen order (may be empty)

    @property
    def env_text(self) -> str:
        return ", ".join(self.envs)


def fold(findings: Iterable[Finding], env_order: Iterable[str] = ()) -> list[Folded]:
    """One entry per finding-without-env, environments listed in ``env_order``, order kept."""
    rank = {safe(env): i for i, env in enumerate(env_order)}
    groups: dict[Finding, list[str]] = {}
    for finding in findings:
        envs = groups.setdefault(shown(replace(finding, env=None)), [])
        env = None if finding.env is None else safe(finding.env)
        if env is not None and env not in envs:
            envs.append(env)
    return [
        Folded(key, tuple(sorted(envs, key=lambda e: (rank.get(e, len(rank)), e))))
        for key, envs in groups.items()
    ]
