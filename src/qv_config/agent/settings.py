"""Where the agent's store URL comes from when ``--store`` is not given, and where it caches.

The agent has no work tree, so the Environment's ``spec.store`` and ``qv.yaml``'s are read at the
branch tip of the mirror: --store, then $QV_STORE, then those, then ``sqlite:.qv/state.db``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qv_config.agent.source import GitMirror
    from qv_config.agent.types import AgentConfig


def store_url_at(mirror: GitMirror, config: AgentConfig) -> str:
    if config.store_url:
        return config.store_url
    if os.environ.get("QV_STORE"):
        return os.environ["QV_STORE"]
    from qv_config.repo.files import RefusedFile
    from qv_config.store.source import spec_store

    tip = mirror.tip(config.branch)
    for path in (f"environments/{config.env}/environment.yaml", "qv.yaml"):
        try:
            raw = mirror.read_file(tip, path)
        except RefusedFile:  # never read; validation refuses the state with QV111/QV112
            raw = None
        found = spec_store(path, raw)
        if found:
            return found
    return "sqlite:.qv/state.db"


def desired_cache_root(config: AgentConfig) -> Path | None:
    """Where rendered desired-state hashes are cached for `qv drift`: the workdir, when the agent
    keeps its state in the workdir's ``.qv/`` already (the default cache dir; drift run in that
    checkout then finds them); else nowhere, so that an explicit ``--cache-dir`` keeps the agent
    from writing anywhere else."""
    qv_dir = config.workdir / ".qv"
    return config.workdir if config.cache_dir.is_relative_to(qv_dir) else None
