"""qv Flag documents as an Unleash client-features document (``/api/client/features``).

The mapping does what an Unleash server does before it answers a client, so that any Unleash
SDK bootstrapped from the result evaluates each flag as qv does:

- ``spec`` keeps Unleash's own names (strategies, constraints, variants, dependencies);
- segments are named in qv (``Environment.spec.segments``) and numbered for Unleash: ids are
  1..N in the order of the names sorted, so the same set of segments always gets the same ids;
  a strategy naming a segment the environment does not declare is refused (``UnknownSegment``;
  ``qv validate`` reports it as QV504 first);
- variant weights are completed as the server does: ``fix`` weights stay, the rest of 1000 is
  shared evenly among the ``variable`` variants (the first ones get the remainder);
- disabled strategies are left out (the server never sends them); ``title`` is kept;
- qv's ``type`` becomes Unleash's (``ops`` is ``operational``); a release flag past ``expires``
  is marked ``stale``; ``owner``/``expires``/``description`` stay qv's (description is passed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

TYPES = {"release": "release", "kill-switch": "kill-switch", "experiment": "experiment",
         "ops": "operational"}  # fmt: skip
TOTAL_WEIGHT = 1000


class UnknownSegment(ValueError):
    """A strategy names a segment that the environment does not declare."""


def features_document(
    flag_docs: Iterable[Mapping[str, Any]],
    segments: Sequence[Mapping[str, Any]] = (),
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """The client-features document of ``flag_docs`` (rendered Flag documents: ``metadata``
    and ``spec``) with ``segments`` (``Environment.spec.segments``)."""
    ids = segment_ids(segments)
    features = [_feature(doc, ids, today or date.today()) for doc in flag_docs]
    features.sort(key=lambda f: f["name"])
    return {
        "version": 2,
        "features": features,
        "segments": [_segment(s, ids[str(s["name"])]) for s in _by_name(segments)],
        "query": {"inlineSegmentConstraints": False},
        "meta": {"etag": None, "revisionId": None, "queryHash": None},
    }


def segment_ids(segments: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {str(s["name"]): index for index, s in enumerate(_by_name(segments), start=1)}


def _by_name(segments: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(segments, key=lambda s: str(s["name"]))


def _segment(segment: Mapping[str, Any], number: int) -> dict[str, Any]:
    return {
        "id": number,
        "name": str(segment["name"]),
        "constraints": [_clean(c) for c in segment.get("constraints") or []],
    }


def is_stale(spec: Mapping[str, Any], today: date) -> bool:
    """A release flag past its ``expires`` date (QV450 in ``qv validate``)."""
    expires = spec.get("expires")
    if spec.get("type") != "release" or expires is None:
        return False
    try:
        day = expires if isinstance(expires, date) else date.fromisoformat(str(expires))
    except ValueError:
        return False  # a malformed date is the schema's finding, not staleness
    return day < today


def _feature(doc: Mapping[str, Any], ids: Mapping[str, int], today: date) -> dict[str, Any]:
    spec = doc.get("spec") or {}
    name = str((doc.get("metadata") or {}).get("name"))
    out: dict[str, Any] = {
        "name": name,
        "type": TYPES.get(str(spec.get("type")), "release"),
        "description": spec.get("description") or (doc.get("metadata") or {}).get("description"),
        "project": "default",
        "enabled": bool(spec.get("enabled")),
        "stale": is_stale(spec, today),
        "impressionData": bool(spec.get("impressionData")),
        "strategies": [
            _strategy(s, ids, name) for s in spec.get("strategies") or [] if not s.get("disabled")
        ],
        "variants": weighted(spec.get("variants") or []),
    }
    if spec.get("dependencies"):
        out["dependencies"] = [_clean(d) for d in spec["dependencies"]]
    return out


def _strategy(strategy: Mapping[str, Any], ids: Mapping[str, int], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": strategy["name"],
        "parameters": dict(strategy.get("parameters") or {}),
        "constraints": [_clean(c) for c in strategy.get("constraints") or []],
        "segments": [_segment_id(ids, s, flag) for s in strategy.get("segments") or []],
        "variants": weighted(strategy.get("variants") or []),
    }
    if strategy.get("title"):
        out["title"] = strategy["title"]
    return out


def _segment_id(ids: Mapping[str, int], name: str, flag: str) -> int:
    if name not in ids:
        raise UnknownSegment(
            f"flag {flag!r} names segment {name!r}, which the environment does not declare"
        )
    return ids[name]


def weighted(variants: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Variants with their weights completed to 1000 as an Unleash server does."""
    fixed = sum(int(v.get("weight") or 0) for v in variants if v.get("weightType") == "fix")
    flexible = [v for v in variants if v.get("weightType") != "fix"]
    share, remainder = divmod(max(TOTAL_WEIGHT - fixed, 0), len(flexible) or 1)
    out = []
    for variant in variants:
        made = _clean(variant)
        made.setdefault("stickiness", "default")
        if variant.get("weightType") != "fix":
            made["weight"] = share + (1 if remainder > 0 else 0)
            made["weightType"] = "variable"
            remainder -= 1
        out.append(made)
    return out


def _clean(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict without absent (None) fields, nested mappings and lists included."""
    return {k: _plain(v) for k, v in value.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _clean(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
