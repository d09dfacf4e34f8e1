"""Fixtures of the graph tests: the starter project in a real Git repository (as diff's)."""

from __future__ import annotations

from tests.diff.conftest import qv, repo

__all__ = ["qv", "repo"]
