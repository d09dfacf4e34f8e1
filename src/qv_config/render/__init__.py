"""Rendering (SPEC §3): layers, inheritance, merge, templating, provenance, desired state."""
