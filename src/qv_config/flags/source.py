"""The flags of one environment: rendered from the repository (work tree or a revision) or read
back from a runtime store, as the Flag documents and the Environment's segments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qv_config.findings import Finding
    from qv_config.repo.types import Snapshot


@dataclass(frozen=True)
class EnvFlags:
    """Rendered Flag documents (``metadata`` + ``spec``) and the environment's segments."""

    env: str
    flags: tuple[Mapping[str, Any], ...]
    segments: tuple[Mapping[str, Any], ...]

    def document(self, today: date | None = None) -> dict[str, Any]:
        """The client-features document (``flags.unleash.features_document``)."""
        from qv_config.flags.unleash import features_document

        return features_document(self.flags, self.segments, today=today)

    def flag(self, name: str) -> Mapping[str, Any] | None:
        for doc in self.flags:
            if (doc.get("metadata") or {}).get("name") == name:
                return doc
        return None


def rendered(snapshot: Snapshot, env: str) -> tuple[EnvFlags, list[Finding]]:
    """Render the Flag documents and the Environment of ``env``, with the problems met (load
    errors of the environment's files included): callers refuse on errors."""
    from qv_config.errors import UsageError
    from qv_config.render.desired import load_problems
    from qv_config.render.engine import render_environment

    try:
        result = render_environment(snapshot, env, ["flag/*", f"environment/{env}"])
    except UsageError:
        result = render_environment(snapshot, env, [f"environment/{env}"])  # no flags at all
    docs = [d.data for d in result.docs.values()]
    return _split(env, docs), [*load_problems(snapshot, env), *result.findings]


def from_store(url: str, root: Path, env: str) -> EnvFlags:
    """The flags of ``env`` as last applied to the store at ``url``."""
    import orjson

    from qv_config.store import open_store

    store = open_store(url, root, create=False)
    try:
        values = store.read(env).values
    finally:
        store.close()
    prefix = (f"{env}/flag/", f"{env}/environment/{env}")
    docs = [orjson.loads(raw) for key, raw in sorted(values.items()) if key.startswith(prefix)]
    return _split(env, docs)


def _split(env: str, docs: list[Mapping[str, Any]]) -> EnvFlags:
    flags = tuple(d for d in docs if d.get("kind") == "Flag")
    environment = next((d for d in docs if d.get("kind") == "Environment"), None)
    segments = ((environment or {}).get("spec") or {}).get("segments") or ()
    return EnvFlags(env, flags, tuple(segments))
