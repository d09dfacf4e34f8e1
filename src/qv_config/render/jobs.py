"""What an environment renders, as jobs (main file, role, overlay), and the set-up shared by all
environments (template chains of the bases), which can be done once before forking workers."""

from __future__ import annotations

from qv_config.render.inherit import InheritError, cache_for
from qv_config.render.types import LayerRole
from qv_config.repo.types import EnvFiles, Snapshot
from qv_config.yamlio import LoadedDoc

Job = tuple[LoadedDoc, LayerRole, "LoadedDoc | None"]  # main file, its role, its overlay


def env_jobs(snapshot: Snapshot, files: EnvFiles) -> list[Job]:
    """What environment ``files.name`` renders, in order (the Environment document first)."""
    jobs: list[Job] = []
    if files.environment is not None:
        jobs.append((files.environment, "document", None))
    for path, doc in snapshot.bases.items():
        jobs.append((doc, "base", files.overlays.get(path)))
    for path, doc in files.overlays.items():
        if path not in snapshot.bases:  # no base of that path: a document of E alone
            jobs.append((doc, "document", None))
    jobs.extend((doc, "document", None) for doc in files.documents.values())
    return jobs


def warm_up(snapshot: Snapshot) -> None:
    """Do now the work every environment shares (template chains of the base documents, where
    each base and template needs templating), e.g. before forking one worker per environment."""
    cache = cache_for(snapshot)
    for doc in (*snapshot.templates.values(), *snapshot.bases.values()):
        if not isinstance(doc.data, dict):
            continue
        try:
            names = cache.chain(doc)
        except InheritError:
            continue  # reported by each environment's render
        if names:
            cache.merged_chain(names)
            cache.chain_trie(names)
        cache.trie(doc)


__all__ = ["Job", "env_jobs", "warm_up"]
