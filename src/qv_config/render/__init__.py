"""Rendering (SPEC §3): layers, inheritance, merge, templating, provenance, desired state.

Public API: ``render_environment``, ``explain`` (+ ``Explanation``, ``ExplainStep``),
``desired_state``, ``digest``, ``parse_selector``; result types live in ``render.types``.
Rendered data shares subtrees with the cached loaded documents: treat it as read-only.
"""

from qv_config.render.desired import desired_state, digest
from qv_config.render.engine import render_environment
from qv_config.render.explain import ExplainStep, Explanation, explain
from qv_config.render.selectors import Selector, parse_selector

__all__ = [
    "ExplainStep",
    "Explanation",
    "Selector",
    "desired_state",
    "digest",
    "explain",
    "parse_selector",
    "render_environment",
]
