"""Where the CLI's desired state and store URL come from: a Git revision of the project.

The desired state is rendered from a commit (never the work tree) because ``_meta`` records the
revision it came from; uncommitted edits are not deployable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qv_config.errors import CheckFailed
from qv_config.store.types import DesiredState


def render_desired(root: Path, env: str, rev: str, *, check: bool = True) -> DesiredState:
    """Render ``env`` at ``rev``; with ``check``, refuse when validation reports errors."""
    from qv_config.render.desired import desired_state
    from qv_config.render.engine import render_environment
    from qv_config.repo import load_snapshot
    from qv_config.repo.git import GitSource
    from qv_config.secrets.snapshot import decrypt_snapshot
    from qv_config.store.layout import digest_of, full_hashes

    source = GitSource(root, rev)
    try:
        snapshot = load_snapshot(source)
        if check:
            _check(snapshot, env)
        # The store holds plaintext: decrypt (SOPS_AGE_KEY_FILE) after validation, in memory only.
        snapshot = decrypt_snapshot(snapshot, envs=[env])
        values = desired_state(render_environment(snapshot, env))
    finally:
        source.close()
    assert source.revision is not None
    hashes = full_hashes(values)  # hashed once: for the digest and for the store's hash index
    return DesiredState(env, source.revision, digest_of(hashes), values, hashes)


def _check(snapshot: Any, env: str) -> None:
    from qv_config.validate import validate

    result = validate(snapshot, [env])
    if result.ok:
        return
    first = [f for f in result.findings if f.is_error][:3]
    where = "; ".join(f"{f.file}:{f.line}: {f.code} {f.message}" for f in first)
    raise CheckFailed(
        f"{env} at {snapshot.label} has {result.errors} validation error(s), nothing was applied:"
        f" {where}",
        hint=f"run `qv validate --env {env}` and fix them, then commit",
    )


def store_url_for(root: Path, env: str, flag: str | None) -> str:
    """--store, then $QV_STORE, then the Environment's spec.store, then qv.yaml spec.store."""
    if flag:
        return flag
    if os.environ.get("QV_STORE"):
        return os.environ["QV_STORE"]
    for path in (root / "environments" / env / "environment.yaml", root / "qv.yaml"):
        value = _spec_store(path)
        if value:
            return value
    return "sqlite:.qv/state.db"


def _spec_store(path: Path) -> str | None:
    from qv_config.yamlio import YamlError, load_bytes

    try:
        data = load_bytes(path.name, path.read_bytes()).data
    except (OSError, YamlError):
        return None  # validation reports broken files; here the next setting applies
    spec = data.get("spec") if isinstance(data, dict) else None
    store = spec.get("store") if isinstance(spec, dict) else None
    return store if isinstance(store, str) and store else None
