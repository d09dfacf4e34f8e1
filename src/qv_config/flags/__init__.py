"""Feature-flag evaluation with Unleash's semantics (SPEC §9).

Stable API (the config client depends on it; see docs/architecture.md and docs/flags.md):

- ``compile_state(document) -> CompiledFlags``: compile an Unleash client-features document
  (or a delta-API ``{"events": [...]}`` document) once;
- ``CompiledFlags.is_enabled(name, context) -> bool`` and
  ``CompiledFlags.variant(name, context) -> dict`` (keys ``name``, ``enabled``,
  ``feature_enabled``, ``payload``);
- ``evaluate(state, name, context)`` / ``variant(state, name, context)``: the same over a
  document or an already compiled state (a document is compiled on each call: compile once
  for anything hot);
- ``unleash.features_document(flag_docs, segments=...)``: qv Flag documents as a
  client-features document.

The context is a ``Mapping`` described in ``qv_config.flags.context``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.flags.compiled import CompiledFlag, CompiledFlags, FlagStateError, compile_state
from qv_config.flags.context import Context

__all__ = [
    "CompiledFlag",
    "CompiledFlags",
    "Context",
    "FlagStateError",
    "compile_state",
    "evaluate",
    "variant",
]


def _compiled(state: CompiledFlags | Mapping[str, Any]) -> CompiledFlags:
    return state if isinstance(state, CompiledFlags) else compile_state(state)


def evaluate(state: CompiledFlags | Mapping[str, Any], name: str, context: Context) -> bool:
    """Is flag ``name`` on for ``context``?"""
    return _compiled(state).is_enabled(name, context)


def variant(
    state: CompiledFlags | Mapping[str, Any], name: str, context: Context
) -> dict[str, Any]:
    """The variant of flag ``name`` for ``context``."""
    return _compiled(state).variant(name, context)
