"""Planning an apply: the minimal set of puts and deletes (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from qv_config.store.types import Plan


def plan_apply(current: Mapping[str, bytes], desired: Mapping[str, bytes]) -> Plan:
    """Puts for added or changed keys, deletes for keys no longer desired; one pass each side."""
    puts: dict[str, bytes] = {}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    for key, value in desired.items():
        old = current.get(key)
        if old is None:
            added.append(key)
            puts[key] = value
        elif old != value:
            changed.append(key)
            puts[key] = value
        else:
            unchanged += 1
    deletes = tuple(sorted(k for k in current if k not in desired))
    return Plan(
        puts=puts,
        deletes=deletes,
        added=tuple(sorted(added)),
        changed=tuple(sorted(changed)),
        unchanged=unchanged,
    )


def plan_from_index(
    hashes: Mapping[str, str], desired: Mapping[str, bytes], desired_hashes: Mapping[str, str]
) -> Plan:
    """Like ``plan_apply`` but against the stored per-key hashes instead of the stored values."""
    puts: dict[str, bytes] = {}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    for key, new in desired_hashes.items():
        old = hashes.get(key)
        if old == new:
            unchanged += 1
            continue
        (added if old is None else changed).append(key)
        puts[key] = desired[key]
    deletes = tuple(sorted(k for k in hashes if k not in desired))
    return Plan(
        puts=puts,
        deletes=deletes,
        added=tuple(sorted(added)),
        changed=tuple(sorted(changed)),
        unchanged=unchanged,
    )
