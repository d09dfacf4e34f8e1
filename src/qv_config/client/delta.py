"""Reading only what an apply changed, from the store's hash index (store/index.py).

An apply writes ``P/{env}/_index`` (shard digests, bound to ``_meta``'s digest) and the shards
``_index/{xx}`` (``key -> 128-bit hash``) in its own transaction. The follower compares the new
shard digests with those of the state it serves, reads the shards that differ, then only the
values whose hash changed, with ``_meta`` in the same read. The result is served only when the
served state's full hashes of the unchanged keys and the new values' hashes give ``_meta``'s
digest, the check a full read makes: the index only says where to look. Anything else (no index,
an apply in between, a digest that does not add up, many changes) returns None and the follower
reads every value, which also decides whether a state is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.client.snapshot import Snapshot, assemble
from qv_config.store import index, layout
from qv_config.store.errors import MetaCorruptError
from qv_config.store.protocol import Store
from qv_config.store.types import IndexState

# Past this many changed values (or half of all) one read of everything is as fast: etcd reads
# the values named in Txns of 100 ranges, slower per key than one range over the prefix.
MAX_CHANGED = 100


def read_changes(
    store: Store, env: str, head: IndexState, served: Snapshot, slug_kinds: Mapping[str, str]
) -> Snapshot | None:
    """The new state from the values that changed since ``served``, or None (read all)."""
    if served.meta is None or head.meta_raw is None:
        return None
    try:
        meta = layout.decode_meta(head.meta_raw, f"{env}/{layout.META}", "")
    except MetaCorruptError:
        return None
    top = index.decode_top(head.index_raw, meta)
    if top is None:
        return None
    mine = served_index(served)
    if top.count != mine.count:  # regrouped shards: compare nothing, read everything
        return None
    differing = mine.differing(top)
    if len(differing) > max(1, top.count // 2):  # most of the state changed: read it all
        return None
    stored = store.read_index_shards(env, differing) if differing else {}
    changed, removed = _changed_keys(mine, differing, stored)
    if changed is None or len(changed) > min(MAX_CHANGED, len(served.hashes) // 2 + 1):
        return None
    state = store.read_values(env, sorted(changed))
    if state.meta_raw != head.meta_raw or set(state.values) != changed:
        return None  # another apply landed meanwhile, or the index names a key not there
    hashes = {k: h for k, h in served.hashes.items() if k not in removed}
    hashes.update(layout.full_hashes(state.values))
    if layout.digest_of(hashes) != meta.digest:
        return None
    return assemble(meta, state.meta_raw, hashes, state.values, served, env, slug_kinds)


def served_index(served: Snapshot) -> index.DesiredIndex:
    """The hash index of the served state, as an apply of it would have written it."""
    cached: Any = served.__dict__.get("_index")
    if cached is None:
        short = layout.value_hashes({}, served.hashes)
        meta = served.meta  # only the shard digests are compared: the bound is not written
        bound = (served.digest, meta.revision, meta.inputs) if meta else (served.digest, "", "")
        cached = index.desired_index(bound, short)
        served.__dict__["_index"] = cached  # memo on the frozen snapshot (this thread only)
    return cached  # type: ignore[no-any-return]


def _changed_keys(
    mine: index.DesiredIndex, differing: list[str], stored: Mapping[str, bytes | None]
) -> tuple[set[str] | None, set[str]]:
    """Keys to read (added or changed) and keys removed, from the shards that differ."""
    changed: set[str] = set()
    removed: set[str] = set()
    for shard in differing:
        try:
            new = index.decode_shard(stored.get(shard))
        except ValueError:  # orjson's decode error: a damaged shard
            return None, removed
        old = mine.shards.get(shard, {})
        changed.update(k for k, h in new.items() if old.get(k) != h)
        removed.update(k for k in old if k not in new)
    return changed, removed
