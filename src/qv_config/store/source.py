"""Where the CLI's desired state and store URL come from: a Git revision of the project.

The desired state is rendered from a commit (never the work tree) because ``_meta`` records the
revision it came from; uncommitted edits are not deployable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.errors import StateRefused
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.store.types import DesiredState

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc
    from qv_config.repo.types import Snapshot
    from qv_config.store.desiredcache import DesiredHashes, InputKey


def render_desired(
    root: Path,
    env: str,
    rev: str,
    *,
    check: bool = True,
    cache_root: Path | None = None,
    resolved: InputKey | None = None,
    progress: Progress = NO_PROGRESS,
    meanwhile: Callable[[], None] | None = None,
) -> DesiredState:
    """Render ``env`` at ``rev``; with ``check``, refuse when validation reports errors.

    The result carries the input stamp of ``rev`` (recorded in ``_meta`` by the apply, so that
    `qv drift` can tell without rendering that the tip is what is deployed). With ``cache_root``
    its per-key hashes also go to that project's ``.qv/cache/desired/`` (drift on the same
    checkout is then warm for this revision), except for environments with encrypted files.
    ``resolved``: the input key of ``rev`` when the caller has it already; ``progress`` hears
    of the documents validated; ``meanwhile``: the caller's own work, done while forked workers
    render (if they do).
    """
    from qv_config.repo.history import outside
    from qv_config.store import desiredcache as dc

    resolved = resolved or dc.input_key(root, env, rev)
    state, secret = _render(root, env, rev, check, progress, meanwhile)
    if not _same_commit(resolved, state):
        return state  # the branch moved between the two reads: no stamp rather than a wrong one
    assert resolved is not None
    if cache_root is not None:
        _remember(cache_root, resolved.key, state, secret)
    # Validity depends on the schema files read too: those outside the key's folders join it.
    schemas = outside(dc.schemas_named(state.values), resolved.paths)
    return replace(state, inputs=dc.stamp_of(root, env, resolved, schemas))


def _same_commit(resolved: InputKey | None, state: DesiredState) -> bool:
    return resolved is not None and resolved.revision == state.revision


def _remember(cache_root: Path, key: str, state: DesiredState, secret: bool) -> None:
    """Save the hashes of a rendered state; never those of decrypted secrets."""
    from qv_config.store import desiredcache as dc

    if not secret and state.hashes is not None:
        dc.save(cache_root, state.env, key, dc.CachedDesired(state.digest, state.hashes))


def _render(
    root: Path,
    env: str,
    rev: str,
    check: bool,
    progress: Progress = NO_PROGRESS,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[DesiredState, bool]:
    """The desired state, and whether it was rendered from SOPS-encrypted (decrypted) files.

    Without ``check`` (drift, rollback, the agent's deployed state) nothing is validated, but a
    state missing a document is still refused (``refuse_errors``): a file that did not load or a
    document that did not render would otherwise drop out of it silently."""
    from qv_config.cache.parse import ParseMemo
    from qv_config.repo import load_snapshot
    from qv_config.repo.git import GitSource
    from qv_config.repo.prefetch import both
    from qv_config.store.desiredcache import STATS

    STATS.renders += 1
    source = GitSource(root, rev)
    # Saved while the render workers run, not before (its values stay in memory meanwhile).
    memo = ParseMemo(source.root)
    values: dict[str, bytes] = {}
    done: set[str] = set()  # main paths of the documents whose values validation gave
    try:
        # The environment's own folder only (plus templates, bases, schemas): nothing of the
        # other environments is read. Rendering is prepared while workers parse (a cold load).
        snapshot = load_snapshot(source, envs=[env], meanwhile=_warm, memo=memo)
        from qv_config.render.desired import canonical, load_problems, refuse_errors
        from qv_config.render.engine import render_each
        from qv_config.secrets.snapshot import decrypt_snapshot, encrypted_paths

        problems = load_problems(snapshot, env)
        secret = bool(encrypted_paths(snapshot, [env]))
        if check:  # the values of what validation renders are taken (unless decrypted later)
            value_of = canonical if not secret else None
            during = both(partial(memo.save, release=False), meanwhile)
            values, done = _check(snapshot, env, value_of, progress, during)
        # The store holds plaintext: decrypt (SOPS_AGE_KEY_FILE) after validation, in memory only.
        snapshot = decrypt_snapshot(snapshot, envs=[env])
        # Each document as canonical JSON as soon as it is rendered: values are never all held.
        keep = values.__setitem__
        others = _others(snapshot, env, done)
        # None left (validation gave every value, the Environment document's too, from this
        # snapshot: nothing was decrypted) renders nothing again: not even the Environment.
        found = () if others == set() else render_each(
            snapshot, env, lambda key, doc: keep(key, canonical(doc)), paths=others
        )  # fmt: skip
        refuse_errors([*problems, *found], env)  # a document left out would be deleted
    finally:
        memo.save()  # if no workers rendered; a refused state's files count too (parsed)
        source.close()
    assert source.revision is not None
    from qv_config.store.layout import digest_of, full_hashes

    hashes = full_hashes(values)  # hashed once: for the digest and for the store's hash index
    state = DesiredState(env, source.revision, digest_of(hashes), values, hashes, secret=secret)
    return state, secret


def _warm() -> None:
    """What the render needs, imported and built while the parse workers run (a cold load): not
    before they are forked (~30 ms of imports that the parse does not need), nor after them,
    when nothing else runs (the secrets modules, ~12 ms: ``encrypted_paths`` is asked next)."""
    import qv_config.secrets.snapshot  # noqa: F401  (imported for its side effect: loaded)
    from qv_config.validate.rendered import warm

    warm()


def _others(snapshot: Snapshot, env: str, done: set[str]) -> set[str] | None:
    """Main paths of the documents of ``env`` whose value is not known yet (None: all)."""
    from qv_config.render.jobs import env_jobs

    if not done:
        return None
    return {job[0].path for job in env_jobs(snapshot, snapshot.environments[env])} - done


def desired_hashes(
    root: Path, env: str, rev: str, resolved: InputKey | None = None
) -> DesiredHashes:
    """The per-key sha256 and digest of ``env`` at ``rev`` (unchecked, as drift wants them),
    from ``.qv/cache/desired/`` when the environment's input key was rendered before.
    ``resolved``: the input key of ``rev`` when the caller has it already.

    Environments that render from encrypted files are rendered every time: their hashes are
    hashes of decrypted secrets and never go to disk.
    """
    from qv_config.store import desiredcache as dc

    if resolved is None:
        resolved = dc.input_key(root, env, rev)
    if resolved is not None:
        hit = dc.load(root, env, resolved.key)
        if hit is not None:
            return dc.DesiredHashes(env, resolved.revision, hit.digest, hit.hashes, cached=True)
    state, secret = _render(root, env, rev, check=False)
    assert state.hashes is not None
    # Saved only when the key was read at the commit that was rendered (a branch may move).
    if _same_commit(resolved, state):
        assert resolved is not None
        _remember(root, resolved.key, state, secret)
    return dc.DesiredHashes(env, state.revision, state.digest, state.hashes, cached=False)


def _check(
    snapshot: Snapshot,
    env: str,
    value_of: Callable[[RenderedDoc], bytes] | None = None,
    progress: Progress = NO_PROGRESS,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[dict[str, bytes], set[str]]:
    """Validate ``env``; with ``value_of``, the value of each document validation rendered
    (and their main paths). Refuses (``StateRefused``) when it reports errors. ``meanwhile``:
    done while forked workers render, if they do."""
    from qv_config.render.desired import places
    from qv_config.validate.api import validate_checked

    checked = validate_checked(
        snapshot, [env], (), True, progress, value_of=value_of, meanwhile=meanwhile
    )
    result = checked.result
    if result.ok:
        return checked.values, checked.rendered
    errors = [f for f in result.findings if f.is_error]
    where = "; ".join(f"{f.file}:{f.line}: {f.code} {f.message}" for f in errors[:3])
    head = f"{env} at {snapshot.label} has {result.errors} validation error(s), nothing was applied"
    raise StateRefused(
        f"{head}: {where}",
        located=f"{head}: {places(errors)}",
        hint=f"run `qv validate --env {env}` and fix them, then commit",
    )


def store_url_for(root: Path, env: str, flag: str | None) -> str:
    """--store, then $QV_STORE, then the Environment's spec.store, then qv.yaml spec.store."""
    if flag:
        return flag
    if os.environ.get("QV_STORE"):
        return os.environ["QV_STORE"]
    from qv_config.repo.source import WorkTreeSource

    source = WorkTreeSource(root)  # the rule of repo.files: a link out of the tree is not read
    for path in (f"environments/{env}/environment.yaml", "qv.yaml"):
        value = spec_store(path, source.read(path))
        if value:
            return value
    return "sqlite:.qv/state.db"


def spec_store(path: str, raw: bytes | None) -> str | None:
    """``spec.store`` of a document's bytes (None: absent, unreadable or not a string)."""
    from qv_config.yamlio import YamlError, load_bytes

    try:
        data = load_bytes(path, raw).data if raw is not None else None
    except YamlError:
        return None  # validation reports broken files; here the next setting applies
    spec = data.get("spec") if isinstance(data, dict) else None
    store = spec.get("store") if isinstance(spec, dict) else None
    return store if isinstance(store, str) and store else None


def check_known_env(root: Path, env: str) -> None:
    """A usage error (exit 2) when the work tree's ``qv.yaml`` names no environment ``env``:
    for the commands that read only the store (``qv history``), as the others refuse it when
    they render. A ``qv.yaml`` that cannot be read leaves the judgement to the store."""
    from qv_config.errors import UsageError
    from qv_config.names import env_hint
    from qv_config.repo.source import WorkTreeSource
    from qv_config.yamlio import YamlError, load_bytes

    raw = WorkTreeSource(root).read("qv.yaml")
    try:
        data = load_bytes("qv.yaml", raw).data if raw is not None else None
    except YamlError:
        return
    spec = data.get("spec") if isinstance(data, dict) else None
    names = spec.get("environments") if isinstance(spec, dict) else None
    if not isinstance(names, list) or env in names:
        return
    raise UsageError(f"unknown environment {env!r}", hint=env_hint(env, map(str, names)))
