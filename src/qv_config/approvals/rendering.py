"""Rendering the states an approval binds: whole, and for thousands of documents in two forked
workers (cold, rendering was ~60 % of a ``qv approvals`` of a 1,000-document change).

The workers render parts of the main files (``render_environment(paths=...)``, each with the
Environment document, the templating context) and send the documents back as marshal bytes. A
part that does not render, or a document two parts both name (QV220, which one renderer sees
only when it meets both), makes the caller render in this process, whose error names the
problem: the answer is always the whole render's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from qv_config.errors import CheckFailed

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot

Refs = Mapping[str, Mapping[str, Any]]
Pair = tuple[Refs, Mapping[str, str]]  # documents and each one's main file
Part = tuple[int, frozenset[str] | None]  # which snapshot, which main files (None: all)


def rendered(snapshot: Snapshot, env: str, sha: str) -> Pair:
    """The documents of ``env`` and their main files; a state missing a document (a render or
    load error) is refused."""
    from qv_config.repo import prefetch as workers

    mains = _mains(snapshot, env)
    if workers.worth_it(mains):
        half = len(mains) // 2
        parts: list[Part] = [(0, frozenset(mains[:half])), (0, frozenset(mains[half:]))]
        found = _apart((snapshot,), env, parts)
        joined = _join(found) if found is not None else None
        if joined is not None:
            return joined
    return _here(snapshot, env, sha)


def rendered_pair(base: Snapshot, target: Snapshot, env: str) -> tuple[Pair, Pair] | None:
    """``base`` whole and ``target`` (a partial snapshot) whole, at once: the base in two parts
    sized so that the second and the target take as long as the first. None: not worth it, or
    a problem (the caller renders each here and says what)."""
    from qv_config.repo import prefetch as workers

    mains, more = _mains(base, env), _mains(target, env)
    if not workers.worth_it([*mains, *more]) or workers.WORKERS != 2:
        return None
    cut = min(len(mains), (len(mains) + len(more)) // 2)
    parts: list[Part] = [(0, frozenset(mains[:cut])), (0, frozenset(mains[cut:])), (1, None)]
    found = _apart((base, target), env, parts)
    if found is None:
        return None
    joined = _join(found[:2])
    return (joined, found[2]) if joined is not None else None


def _mains(snapshot: Snapshot, env: str) -> list[str]:
    from qv_config.render.jobs import env_jobs

    files = snapshot.environments.get(env)
    return [] if files is None else [main.path for main, _, _ in env_jobs(snapshot, files)]


def _apart(snapshots: Sequence[Snapshot], env: str, parts: list[Part]) -> list[Pair] | None:
    import marshal

    from qv_config.render.desired import load_problems
    from qv_config.repo import prefetch as workers

    if any(f.is_error for snap in snapshots for f in load_problems(snap, env)):
        return None
    blobs = workers.in_workers(partial(_render_part, snapshots, env), parts)
    if any(blob is None for blob in blobs):
        return None
    return [marshal.loads(blob) for blob in blobs]


def _join(found: list[Pair]) -> Pair | None:
    refs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for part_refs, part_sources in found:
        for ref, source in part_sources.items():
            if sources.get(ref, source) != source:
                return None  # one name in two parts: the whole render's QV220
            refs[ref], sources[ref] = part_refs[ref], source
    return dict(sorted(refs.items())), sources  # in the whole render's order


def _render_part(snapshots: Sequence[Snapshot], env: str, part: Part) -> bytes | None:
    """In a forked worker: the documents of one part as marshal bytes; None when one does not
    render or is not plain data."""
    import marshal

    from qv_config.render.engine import render_environment

    which, paths = part
    done = render_environment(snapshots[which], env, paths=paths)
    if any(f.is_error for f in done.findings):
        return None
    try:
        return marshal.dumps(_pair(done.docs))
    except ValueError:
        return None


def _pair(docs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    refs = {key.split("/", 1)[1]: doc.data for key, doc in docs.items()}
    sources = {key.split("/", 1)[1]: doc.source for key, doc in docs.items()}
    return refs, sources


def _here(snapshot: Snapshot, env: str, sha: str) -> Pair:
    from qv_config.render.desired import load_problems, places
    from qv_config.render.engine import render_environment

    done = render_environment(snapshot, env)
    errors = [f for f in (*load_problems(snapshot, env), *done.findings) if f.is_error]
    if errors:
        raise CheckFailed(
            f"{env}@{sha[:10]} does not render: {places(errors)}",
            hint=f"run `qv validate --env {env}` on that revision; approvals bind whole states",
        )
    return _pair(done.docs)
