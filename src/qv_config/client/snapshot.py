"""One immutable state of an environment as the client serves it, built from one consistent
store read and checked whole before any reader sees it.

A state is refused (``Refused``) when ``_meta`` is missing or unreadable, when the values read
do not hash to ``_meta``'s digest (edited outside qv, or not what the apply wrote), when a value
is not a JSON object, or when the flags do not compile: the client then keeps the state it
serves. Flags are compiled here, once per state, so that an evaluation is a few look-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qv_config.client.frozen import freeze, thaw
from qv_config.store import layout
from qv_config.store.errors import MetaCorruptError
from qv_config.store.types import Meta, StoreState

if TYPE_CHECKING:
    from qv_config.flags import CompiledFlags

FLAG_SLUG = "flag"
_ROLLOUTS = frozenset(
    ("flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom")
)


class Refused(Exception):
    """A state the client will not serve; its message names the cause, never a value."""


@dataclass(frozen=True)
class FlagShape:
    """What OpenFeature's reasons need to know of a flag, taken from its document once."""

    enabled: bool  # spec.enabled: False is DISABLED whatever the context
    static: bool  # no strategy looks at the context (none, or plain "default" ones)
    split: bool  # more than one variant to choose from (weights, stickiness): SPLIT
    rollout: bool = False  # on by percentage alone (rollouts without constraints): SPLIT
    variants: bool = False  # the flag or a strategy has variants (OFREP answers a payload)


@dataclass(frozen=True)
class Snapshot:
    """What ``_meta`` says was deployed and every document of it, read-only."""

    meta: Meta | None  # None: nothing loaded yet (the client is not ready)
    meta_raw: bytes | None
    docs: Mapping[tuple[str, str], Any]  # (kind or slug, name) -> FrozenDict
    hashes: Mapping[str, str] = field(default_factory=dict)  # store key -> sha256 hex
    flags: CompiledFlags | NoFlags | None = None  # None: not loaded (EMPTY)
    shapes: Mapping[str, FlagShape] = field(default_factory=dict)

    @property
    def revision(self) -> str:
        return self.meta.revision if self.meta else ""

    @property
    def digest(self) -> str:
        return self.meta.digest if self.meta else ""

    def changed_keys(self, newer: Snapshot) -> tuple[str, ...]:
        """Store keys (``{env}/{slug}/{name}``) added, changed or removed in ``newer``."""
        old, new = self.hashes, newer.hashes
        return tuple(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))


EMPTY = Snapshot(meta=None, meta_raw=None, docs={})


class NoFlags:
    """The flags of a state that has none: every flag is unknown, so off (as in Unleash)."""

    warnings: tuple[str, ...] = ()

    def is_enabled(self, name: str, context: Mapping[str, Any]) -> bool:
        return False

    def variant(self, name: str, context: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": "disabled", "enabled": False, "feature_enabled": False, "payload": None}


NO_FLAGS = NoFlags()


def build(
    state: StoreState,
    env: str,
    where: str,
    slug_kinds: Mapping[str, str],
    previous: Snapshot = EMPTY,
) -> Snapshot:
    """Check ``state`` (every value of ``env``) whole and make it servable; Refused names
    what is wrong."""
    meta = _meta(state, env, where)
    hashes = layout.full_hashes(state.values)
    if layout.digest_of(hashes) != meta.digest:
        raise Refused(
            f"the values of {env} in {where} do not match the digest of its _meta"
            f" ({meta.digest[:12]}): edited outside qv, or not what an apply wrote"
            f" (run `qv drift --env {env}`, then `qv sync --env {env} --heal`)"
        )
    before = previous.hashes
    fresh = {k: v for k, v in state.values.items() if before.get(k) != hashes[k]}
    return assemble(meta, state.meta_raw, hashes, fresh, previous, env, slug_kinds)


def assemble(
    meta: Meta,
    meta_raw: bytes | None,
    hashes: Mapping[str, str],
    fresh: Mapping[str, bytes],
    previous: Snapshot,
    env: str,
    slug_kinds: Mapping[str, str],
) -> Snapshot:
    """The snapshot of the keys of ``hashes`` (already checked against ``meta``'s digest):
    ``fresh`` values are parsed, every other document is the one ``previous`` holds (same
    bytes). The flags are compiled again only when a flag or the Environment changed."""
    gone = previous.hashes.keys() - hashes.keys()
    docs = dict(previous.docs)  # one C-level copy; then only what changed is touched
    for key in gone:
        slug, name = _slug_name(key)
        docs.pop((slug, name), None)
        docs.pop((slug_kinds.get(slug, slug), name), None)
    for key, raw in fresh.items():
        slug, name, doc = _document(key, raw, env)
        docs[slug, name] = doc
        docs[slug_kinds.get(slug, slug), name] = doc
    touched = any(_feeds_flags(k) for k in (*fresh, *gone))
    if previous.flags is not None and not touched:
        return Snapshot(meta, meta_raw, docs, hashes, previous.flags, previous.shapes)
    flag_docs = [doc for (slug, _), doc in docs.items() if slug == FLAG_SLUG]
    environment = docs.get(("environment", env)) or {}
    segments = (environment.get("spec") or {}).get("segments") or ()
    flags, shapes = _compile(flag_docs, segments, env)
    return Snapshot(meta, meta_raw, docs, hashes, flags, shapes)


def _slug_name(key: str) -> tuple[str, str]:
    _, slug, name = ([*key.split("/", 2), "", ""])[:3]
    return slug, name


def _feeds_flags(key: str) -> bool:
    return _slug_name(key)[0] in (FLAG_SLUG, "environment")


def _meta(state: StoreState, env: str, where: str) -> Meta:
    if state.meta_raw is None:
        raise Refused(f"nothing was synced to {env} in {where} yet (no _meta): run `qv sync`")
    try:
        return layout.decode_meta(state.meta_raw, f"{env}/{layout.META}", "qv drift")
    except MetaCorruptError as err:
        raise Refused(err.message) from None


def _document(key: str, raw: bytes, env: str) -> tuple[str, str, Any]:
    import orjson

    slug, name = _slug_name(key)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise Refused(f"the store key {key} is not JSON ({err.msg})") from None
    if not isinstance(doc, dict) or not slug or not name:
        raise Refused(f"the store key {key} is not a document of {env} (a JSON object)")
    return slug, name, freeze(doc)


def _compile(
    flag_docs: list[Any], segments: Any, env: str
) -> tuple[CompiledFlags | NoFlags, dict[str, FlagShape]]:
    """The flags of the state compiled once (``qv_config.flags``; segments are the
    Environment document's), and their shapes."""
    if not flag_docs:
        return NO_FLAGS, {}
    from qv_config.flags import compile_state
    from qv_config.flags.unleash import features_document

    plain = [thaw(doc) for doc in flag_docs]
    try:
        compiled = compile_state(features_document(plain, thaw(segments)))
    except Exception as err:  # a flag qv's evaluator cannot compile: refuse the whole state
        from qv_config.errors import bug_summary
        from qv_config.safetext import bounded

        # The evaluator's own refusals (an unknown segment, a state of the wrong shape) name
        # flags and segments; anything else is told by its type and place only.
        why = bounded(str(err)) if isinstance(err, ValueError) else bug_summary(err)
        raise Refused(f"the flags of {env} do not compile ({why})") from None
    return compiled, {str(doc["metadata"]["name"]): _shape(doc) for doc in plain}


def _shape(doc: dict[str, Any]) -> FlagShape:
    spec = doc.get("spec") or {}
    strategies = [s for s in spec.get("strategies") or [] if not s.get("disabled")]
    static = all(
        s.get("name") == "default" and not s.get("constraints") and not s.get("segments")
        for s in strategies
    )
    variants = len(spec.get("variants") or [])
    variants = max([variants, *(len(s.get("variants") or []) for s in strategies)])
    rollout = bool(strategies) and all(
        s.get("name") in _ROLLOUTS and not s.get("constraints") and not s.get("segments")
        for s in strategies
    )
    return FlagShape(bool(spec.get("enabled")), static, variants > 1, rollout, variants > 0)
