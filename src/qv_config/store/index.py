"""The per-key content hash index: plan an apply without reading every stored value.

Two levels, so that a one-key change reads and writes a few KB whatever the environment's size:

- ``P/{env}/_index`` → ``{"digest": D, "revision": R, "inputs": I, "shards": {"3f":
  shard_digest, ...}}``, bound to ``_meta``'s digest, revision and input stamp (written in the
  same transaction; any other ``_meta`` means stale → unused: drift takes the index for the
  state rendered at ``_meta.revision``, so a revision edited outside qv must not keep it);
- ``P/{env}/_index/{shard}`` → ``{"{env}/{kind}/{name}": value_hash, ...}`` for the keys whose
  crc32 falls in that shard. The shard count grows with the environment (1 up to 256 keys, then
  doubling, at most 32): a 10,000-key environment has ~18 KB shards, a small one costs two extra
  operations of etcd's ``--max-txn-ops``.

Planning compares the desired shard digests with the stored ones and reads only the shards that
differ. Everything is written by ``apply_desired`` in the apply's own transaction; the fence on
``_meta`` makes a plan made from shards read a moment later safe (a concurrent writer fails it).
Out-of-band edits never touch the index: drift and heal read the values themselves.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from qv_config.store.types import IndexWrite, Meta, Plan

SHARDS = 32
_DIGEST_CHARS = 32


_NAMES = [f"{i:02x}" for i in range(SHARDS)]
_KEYS_PER_SHARD = 256
_COUNTS = frozenset(2**i for i in range(SHARDS.bit_length()))
Bound = tuple[str, str, str]  # the digest, revision and input stamp of a ``_meta``


def shard_count(keys: int) -> int:
    """A power of two: 1 up to 256 keys, then about 256 keys per shard, at most SHARDS."""
    count = 1
    while count < SHARDS and keys > count * _KEYS_PER_SHARD:
        count *= 2
    return count


def shard_of(key: str, count: int = SHARDS) -> str:
    return _NAMES[zlib.crc32(key.encode()) & (count - 1)]


def group(hashes: Mapping[str, str], count: int) -> dict[str, dict[str, str]]:
    """shard -> {key: hash} (non-empty shards only); the hot loop of every apply."""
    buckets: list[dict[str, str]] = [{} for _ in range(count)]
    crc, mask = zlib.crc32, count - 1
    for key, value in hashes.items():
        buckets[crc(key.encode()) & mask][key] = value
    return {_NAMES[i]: b for i, b in enumerate(buckets) if b}


def encode_shard(entries: Mapping[str, str]) -> bytes:
    import orjson

    return bytes(orjson.dumps(entries, option=orjson.OPT_SORT_KEYS))


def decode_shard(raw: bytes | None) -> dict[str, str]:
    import orjson

    if raw is None:
        return {}
    obj = orjson.loads(raw)
    return obj if isinstance(obj, dict) else {}


def shard_digest(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()[:_DIGEST_CHARS]


@dataclass(frozen=True)
class Top:
    count: int
    shards: dict[str, str]  # shard -> digest of its encoded content


def encode_top(bound: Bound, count: int, shard_digests: Mapping[str, str]) -> bytes:
    import orjson

    digest, revision, inputs = bound
    top = {"digest": digest, "revision": revision, "inputs": inputs, "count": count}
    return bytes(orjson.dumps({**top, "shards": shard_digests}, option=orjson.OPT_SORT_KEYS))


def listed_shards(raw: bytes | None) -> dict[str, str]:
    """The shards a top key lists, whatever its digest (to delete them on a full rewrite)."""
    import orjson

    try:
        obj = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError:
        return {}
    shards = obj.get("shards") if isinstance(obj, dict) else None
    return shards if isinstance(shards, dict) else {}


def decode_top(raw: bytes | None, meta: Meta | None) -> Top | None:
    """The shard digests, or None when absent, unreadable or not written with this ``_meta``.

    None makes the apply read every value instead: a lost or stale index (an older qv, a hand
    edit of ``_meta``) costs speed, never correctness.
    """
    import orjson

    if raw is None or meta is None:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or _bound(obj) != (meta.digest, meta.revision, meta.inputs):
        return None
    shards, count = obj.get("shards"), obj.get("count")
    if not isinstance(shards, dict) or not isinstance(count, int) or count not in _COUNTS:
        return None
    return Top(count, shards)


def _bound(top: dict[str, object]) -> tuple[object, object, object]:
    """What of ``_meta`` a top was written with (an older qv's top names only the digest)."""
    return top.get("digest"), top.get("revision"), top.get("inputs")


@dataclass(frozen=True)
class DesiredIndex:
    """The index of a desired state: encoded shards and their digests, computed once."""

    bound: Bound  # the digest, revision and input stamp of the ``_meta`` written with it
    count: int
    shards: dict[str, dict[str, str]]
    encoded: dict[str, bytes]
    digests: dict[str, str]

    def _top(self) -> bytes:
        return encode_top(self.bound, self.count, self.digests)

    def full_write(self, old_shards: Mapping[str, str]) -> IndexWrite:
        """Every shard, deleting those the old top listed (after a full read)."""
        shards: dict[str, bytes | None] = dict.fromkeys(old_shards)
        shards.update(self.encoded)
        return IndexWrite(self._top(), shards)

    def differing(self, top: Top) -> list[str]:
        """Shards to read and rewrite: all of them when the shard count changed."""
        if top.count != self.count:
            return sorted({*top.shards, *self.digests})
        mine = [s for s, d in self.digests.items() if top.shards.get(s) != d]
        return sorted({*mine, *(s for s in top.shards if s not in self.digests)})

    def write_over(self, top: Top, differing: list[str]) -> IndexWrite:
        """Only the ``differing`` shards: written when desired, deleted when now empty."""
        shards = {s: self.encoded.get(s) for s in differing}
        return IndexWrite(self._top(), shards)


def desired_index(bound: Bound, hashes: Mapping[str, str]) -> DesiredIndex:
    """The index of ``hashes``, to be written with a ``_meta`` of ``bound`` (digest, revision,
    input stamp)."""
    count = shard_count(len(hashes))
    shards = group(hashes, count)
    encoded = {s: encode_shard(entries) for s, entries in shards.items()}
    return DesiredIndex(
        bound, count, shards, encoded, {s: shard_digest(e) for s, e in encoded.items()}
    )


def plan_from_shards(
    index: DesiredIndex,
    differing: list[str],
    stored: Mapping[str, bytes | None],
    desired: Mapping[str, bytes],
) -> Plan:
    """The minimal plan from the stored shards that differ; equal shards are unchanged keys."""
    from qv_config.store.plan import plan_from_index

    old: dict[str, str] = {}
    new: dict[str, str] = {}
    for shard in differing:
        old.update(decode_shard(stored.get(shard)))
        new.update(index.shards.get(shard, {}))
    plan = plan_from_index(old, desired, new)
    rewritten = set(differing)
    same = sum(len(e) for s, e in index.shards.items() if s not in rewritten)
    return Plan(plan.puts, plan.deletes, plan.added, plan.changed, plan.unchanged + same)
