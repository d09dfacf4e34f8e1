"""The approvals core's ``Change`` from the two states the agent has rendered already.

``approvals.evaluate`` renders the base and the target itself (``diff.states``): on a
10,000-document repository that is seconds the agent spent a moment before, rendering the same
two states to plan its apply. An approval's digests are desired-state digests of the committed
state — sha256 per ``env/kind-slug/name`` over the canonical JSON, exactly what ``DesiredState``
holds when no value was decrypted — so the change (digests, changed keys, the documents that
differ, policy edit, commits) is made here from those, and the core's ``decide`` judges it.
A state rendered from SOPS-encrypted files has plaintext digests: the core renders those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qv_config.store.types import DesiredState

if TYPE_CHECKING:
    from qv_config.approvals.change import Change
    from qv_config.diff.states import State, Workspace


@dataclass(frozen=True)
class Rendered:
    """The deployed state and the state to apply, as the agent rendered them."""

    base: DesiredState
    target: DesiredState

    @property
    def usable(self) -> bool:
        """Both hashed, neither decrypted: their digests are the ones approvals bind."""
        sides = (self.base, self.target)
        return all(s.hashes is not None and not s.secret for s in sides)


def change_from(ws: Workspace, env: str, rendered: Rendered) -> Change:
    # The core's own pieces, so that the digests are computed by one formula (see module doc).
    from qv_config.approvals.change import Change, _changes_digest, _doc_changes, commits
    from qv_config.approvals.policy import read_policy

    base, target = rendered.base, rendered.target
    assert base.hashes is not None
    assert target.hashes is not None
    old_h, new_h = base.hashes, target.hashes
    differing = sorted(k for k in old_h.keys() | new_h.keys() if old_h.get(k) != new_h.get(k))
    old_policy = read_policy(ws.read_at(base.revision))
    new_policy = read_policy(ws.read_at(target.revision))
    old, new = _state(ws, env, base, differing), _state(ws, env, target, differing)
    return Change(
        env,
        base.revision,
        target.revision,
        base.digest,
        target.digest,
        _changes_digest(differing, old_h, new_h, old_policy, new_policy),
        _doc_changes(env, old, new, differing),
        old_policy.digest != new_policy.digest,
        commits(ws.root, base.revision, target.revision),
        old_policy,
    )


def _state(ws: Workspace, env: str, side: DesiredState, keys: Sequence[str]) -> State:
    """The documents of ``side`` among ``keys`` (all a diff of the change looks at)."""
    from qv_config.diff.states import State

    read = ws.read_at(side.revision)
    return State(
        env, f"{env}@{side.revision[:10]}", _docs(side.values, keys), read, "", side.revision
    )


def _docs(values: Mapping[str, bytes], keys: Sequence[str]) -> dict[str, dict[str, object]]:
    """``kind-slug/name`` -> document, parsed from the canonical JSON of ``env/kind-slug/name``."""
    return {key.split("/", 1)[1]: json.loads(values[key]) for key in keys if key in values}
