"""The graphs ``qv review --graph`` embeds: per environment, the inheritance of the documents
that changed, the files the change touched outlined (a template edit and every document it
reaches)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from qv_config.diff.model import EnvDiff
from qv_config.graph.build import environment_graph
from qv_config.graph.model import Graph


def review_graphs(root: Path, base: str, diffs: Mapping[str, EnvDiff]) -> dict[str, Graph]:
    """Per environment with a document added or changed, the graph of those documents in the
    work tree, the files changed since ``base`` marked."""
    from qv_config.repo import WorkTreeSource, gitcmd, load_snapshot
    from qv_config.repo.history import changed_paths
    from qv_config.repo.manifest import DEFAULT_BASES
    from qv_config.repo.source import tops

    sha = gitcmd.text(root, "rev-parse", "--verify", "--end-of-options", f"{base}^{{commit}}")
    snapshot = load_snapshot(WorkTreeSource(root))
    info = snapshot.project_info
    read = tops(info.bases if info else DEFAULT_BASES)
    changed = frozenset(changed_paths(root, sha.strip(), None, read))
    out: dict[str, Graph] = {}
    for env, diff in diffs.items():
        refs = sorted({c.ref for c in diff.changes if c.op != "removed"})
        if refs:
            out[env] = environment_graph(snapshot, env, refs, changed=changed)[0]
    return out
