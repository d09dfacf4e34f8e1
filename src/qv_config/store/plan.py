"""Planning an apply: the minimal set of puts and deletes (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from qv_config.store.types import Plan

T = TypeVar("T")


def plan_apply(current: Mapping[str, bytes], desired: Mapping[str, bytes]) -> Plan:
    """Puts for added or changed keys, deletes for keys no longer desired; one pass each side."""
    return compare(current, desired, desired.__getitem__)


def plan_from_index(
    hashes: Mapping[str, str], desired: Mapping[str, bytes], desired_hashes: Mapping[str, str]
) -> Plan:
    """Like ``plan_apply`` but against the stored per-key hashes instead of the stored values."""
    return compare(hashes, desired_hashes, desired.__getitem__)


def compare(
    current: Mapping[str, T], desired: Mapping[str, T], put: Callable[[str], bytes]
) -> Plan:
    """The plan from ``current`` to ``desired`` (values or per-key hashes, compared by
    equality); ``put(key)`` gives what to write for an added or changed key."""
    puts: dict[str, bytes] = {}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    for key, new in desired.items():
        old = current.get(key)
        if old == new:
            unchanged += 1
            continue
        (added if old is None else changed).append(key)
        puts[key] = put(key)
    deletes = tuple(sorted(k for k in current if k not in desired))
    return Plan(
        puts=puts,
        deletes=deletes,
        added=tuple(sorted(added)),
        changed=tuple(sorted(changed)),
        unchanged=unchanged,
    )
