"""The diff use cases behind ``qv diff`` and ``qv review``."""

from __future__ import annotations

from pathlib import Path

from qv_config.diff.compute import diff_documents
from qv_config.diff.model import EnvDiff
from qv_config.diff.sides import Side, Snapshots, env_specific, mark_lookup, rendered_refs


def diff_sides(root: Path, left: Side, right: Side, *, all_fields: bool = False) -> EnvDiff:
    snapshots = Snapshots(root)
    return diff_with(snapshots, left, right, all_fields=all_fields)


def diff_with(snapshots: Snapshots, left: Side, right: Side, *, all_fields: bool) -> EnvDiff:
    old_snap, new_snap = snapshots.get(left.rev), snapshots.get(right.rev)
    old = rendered_refs(old_snap, left.env, left.label)
    new = rendered_refs(new_snap, right.env, right.label)
    # Between two environments, env_specific fields differ by design (SPEC §5).
    ignore = env_specific(new_snap) if left.env != right.env and not all_fields else []
    return diff_documents(
        old,
        new,
        marks=mark_lookup(new_snap),
        ignore=ignore,
        left_label=left.label,
        right_label=right.label,
    )


def review(root: Path, base: str, head: str | None) -> dict[str, EnvDiff]:
    """Every environment's effective change between ``base`` and ``head`` (None: work tree)."""
    snapshots = Snapshots(root)
    envs = snapshots.get(head).env_names
    base_envs = set(snapshots.get(base).environments)
    out: dict[str, EnvDiff] = {}
    for env in envs:
        if env not in base_envs:
            # A new environment: everything in it is added.
            out[env] = diff_documents(
                {},
                rendered_refs(snapshots.get(head), env, env),
                marks=mark_lookup(snapshots.get(head)),
                left_label=f"{env}@{base}",
                right_label=env,
            )
            continue
        out[env] = diff_with(snapshots, Side(env, base), Side(env, head), all_fields=True)
    return out
