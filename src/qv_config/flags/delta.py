"""Unleash's delta API (client-features delta): events applied to a state, in order.

``hydration`` replaces the whole state; ``feature-updated`` / ``segment-updated`` add or replace
one feature / segment by name / id; ``feature-removed`` / ``segment-removed`` drop one. An event
of another type is refused (``DeltaError``): a client that skipped it would serve a state the
server never had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DeltaError(ValueError):
    """An event qv does not know, or one missing the field its type needs."""


def is_delta(document: Mapping[str, Any]) -> bool:
    return "events" in document and "features" not in document


def apply_events(
    state: Mapping[str, Any] | None, events: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """A client-features document: ``state`` (or nothing) with ``events`` applied."""
    features = {f["name"]: f for f in (state or {}).get("features") or []}
    segments = {s["id"]: s for s in (state or {}).get("segments") or []}
    for event in events:
        _apply(event, features, segments)
    return {"version": 2, "features": list(features.values()), "segments": list(segments.values())}


def _apply(event: Mapping[str, Any], features: dict[str, Any], segments: dict[Any, Any]) -> None:
    kind = event.get("type")
    try:
        if kind == "hydration":
            features.clear()
            segments.clear()
            features.update((f["name"], f) for f in event.get("features") or [])
            segments.update((s["id"], s) for s in event.get("segments") or [])
        elif kind == "feature-updated":
            features[event["feature"]["name"]] = event["feature"]
        elif kind == "feature-removed":
            features.pop(event["featureName"], None)
        elif kind == "segment-updated":
            segments[event["segment"]["id"]] = event["segment"]
        elif kind == "segment-removed":
            segments.pop(event["segmentId"], None)
        else:
            raise DeltaError(f"unknown delta event type {kind!r}")
    except (KeyError, TypeError) as missing:
        raise DeltaError(f"delta event {kind!r} lacks {missing}") from None
