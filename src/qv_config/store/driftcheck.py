"""`qv drift` without rendering when nothing can be pending (SPEC §6).

Out-of-band edits: the store's values against the per-key hash index (``P/{env}/_index``) its
last apply wrote in the same transaction as ``_meta`` (the recorded state's hashes; edits outside
qv never touch it consistently). Pending changes: when the tip's input stamp equals
``_meta.inputs``, the tip renders to the deployed state; otherwise it is rendered (or its hashes
come from ``.qv/cache/desired/``). Anything missing or inconsistent (no index, an index of
another ``_meta`` — its digest, revision or stamp edited outside qv, ``store.index.decode_top`` —,
no stamp, a failing Git question) falls back to rendering: slower, never less correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from qv_config.store.desiredcache import DesiredHashes, InputKey
from qv_config.store.drift import DriftReport, compute_drift_hashes
from qv_config.store.protocol import Store
from qv_config.store.types import Meta, StoreState


@dataclass(frozen=True)
class Deployed:
    """What drift reads from the store: ``_meta``, the hash of every value, and the recorded
    state's hashes from the index (None when absent or not written with this ``_meta``)."""

    meta: Meta | None
    values: Mapping[str, str]  # "{env}/{kind}/{name}" -> layout.value_hash of the stored value
    index: Mapping[str, str] | None
    found: Mapping[str, bytes] = field(default_factory=dict, repr=False)  # the stored values

    def drifted(self) -> tuple[str, ...] | None:
        """Keys edited outside qv (modified, missing or unexpected) by the index alone; None when
        there is no index bound to ``_meta`` to tell by."""
        if self.index is None:
            return None
        index, values = self.index, self.values
        changed = {key for key, digest in values.items() if index.get(key) != digest}
        return tuple(sorted(changed | (index.keys() - values.keys())))


def read_deployed(store: Store, env: str) -> Deployed:
    """One consistent read of the values, then the index bound to the same ``_meta``."""
    from qv_config.store.apply import read_meta
    from qv_config.store.layout import value_hashes

    state = store.read(env)
    meta = read_meta(store, env, state.meta_raw)
    index = _index_hashes(store, env, state, meta) if meta is not None else None
    return Deployed(meta, value_hashes(state.values), index, state.values)


def _index_hashes(store: Store, env: str, state: StoreState, meta: Meta) -> dict[str, str] | None:
    """The index's key -> value hash, when it is whole and belongs to ``state``'s ``_meta``."""
    from qv_config.store.index import decode_shard, decode_top, shard_digest

    head = store.read_index(env)
    if head.meta_raw != state.meta_raw:
        return None  # an apply landed between the two reads: render instead of mixing them
    top = decode_top(head.index_raw, meta)
    if top is None:
        return None
    raw = store.read_index_shards(env, sorted(top.shards))
    hashes: dict[str, str] = {}
    for shard, digest in top.shards.items():
        encoded = raw.get(shard)
        # A shard rewritten by a later apply (or damaged) no longer matches the top's digest.
        if encoded is None or shard_digest(encoded) != digest:
            return None
        hashes.update(decode_shard(encoded))
    return hashes


def drift_report(root: Path, env: str, rev: str, deployed: Deployed) -> DriftReport:
    """Compare ``deployed`` with its recorded state and with ``rev`` (rendering only what must be:
    see the module docstring)."""
    from qv_config.store import desiredcache as dc
    from qv_config.store.source import desired_hashes

    meta = deployed.meta
    resolved = dc.input_key(root, env, rev)
    tip = _unchanged_tip(root, env, meta, deployed.index, resolved)
    if tip is None:
        tip = desired_hashes(root, env, rev, resolved)
    recorded = _recorded(root, env, meta, deployed.index, tip)
    report = compute_drift_hashes(
        env,
        meta,
        deployed.values,
        recorded,
        tip.revision,
        tip.digest,
        _short(tip.hashes),
    )
    if not report.modified or meta is None:
        return report
    from qv_config.store.driftfields import field_drift

    changed = field_drift(root, env, meta.revision, deployed.found, report.modified)
    return replace(report, fields=changed)


def _unchanged_tip(
    root: Path,
    env: str,
    meta: Meta | None,
    index: Mapping[str, str] | None,
    resolved: InputKey | None,
) -> DesiredHashes | None:
    """The tip as the deployed state when it provably renders to it; None: render it."""
    from qv_config.store.desiredcache import tip_stamp

    if meta is None or index is None or resolved is None:
        return None
    same_inputs = bool(meta.inputs) and tip_stamp(root, env, resolved, meta.inputs) == meta.inputs
    if not same_inputs and resolved.revision != meta.revision:
        return None
    return DesiredHashes(env, resolved.revision, meta.digest, index, cached=True)


def _recorded(
    root: Path,
    env: str,
    meta: Meta | None,
    index: Mapping[str, str] | None,
    tip: DesiredHashes,
) -> Mapping[str, str]:
    """The recorded state's value hashes: the index, else the tip's (same commit), else a render
    of the recorded revision (or its cache entry)."""
    from qv_config.store.source import desired_hashes

    if meta is None:
        return {}
    if index is not None:
        return index
    if meta.revision == tip.revision:
        return _short(tip.hashes)
    return _short(desired_hashes(root, env, meta.revision).hashes)


def _short(hashes: Mapping[str, str]) -> Mapping[str, str]:
    """Full sha256 hex cut to the index's length, so every side compares alike."""
    from qv_config.store.layout import value_hashes

    return value_hashes({}, hashes)
