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
    from qv_config.diff.model import DocChange
    from qv_config.diff.states import Workspace


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
    # The core's own formula of the changes digest, so that what is bound is computed one way.
    from qv_config.approvals.change import Change, _changes_digest, commits
    from qv_config.approvals.policy import read_policy

    base, target = rendered.base, rendered.target
    assert base.hashes is not None
    assert target.hashes is not None
    old_h, new_h = base.hashes, target.hashes
    differing = sorted(k for k in old_h.keys() | new_h.keys() if old_h.get(k) != new_h.get(k))
    old_policy = read_policy(ws.read_at(base.revision))
    new_policy = read_policy(ws.read_at(target.revision))
    return Change(
        env,
        base.revision,
        target.revision,
        base.digest,
        target.digest,
        _changes_digest(differing, old_h, new_h, old_policy, new_policy),
        _doc_changes(ws, rendered, differing),
        old_policy.digest != new_policy.digest,
        commits(ws.root, base.revision, target.revision),
        old_policy,
    )


def _doc_changes(ws: Workspace, rendered: Rendered, keys: Sequence[str]) -> tuple[DocChange, ...]:
    """The risk-marked diff of the documents that differ (what rules match change types on);
    one whose canonical JSON differs where the diff shows no field is changed all the same, as
    the core has it (fail closed for rules of type any)."""
    from qv_config.approvals.change import _changed
    from qv_config.diff.compute import diff_documents
    from qv_config.diff.sides import mark_lookup

    left, right = _docs(rendered.base.values, keys), _docs(rendered.target.values, keys)
    marks = mark_lookup(ws.read_at(rendered.target.revision))
    changes = diff_documents(left, right, marks=marks).changes
    shown = {change.ref for change in changes}
    refs = [key.split("/", 1)[1] for key in keys]
    unseen = [_changed(ref, right.get(ref) or left[ref]) for ref in refs if ref not in shown]
    return (*changes, *unseen)


def _docs(values: Mapping[str, bytes], keys: Sequence[str]) -> dict[str, dict[str, object]]:
    """``kind-slug/name`` -> document, parsed from the canonical JSON of ``env/kind-slug/name``."""
    return {key.split("/", 1)[1]: json.loads(values[key]) for key in keys if key in values}
