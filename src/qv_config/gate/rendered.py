"""The approvals core's ``Change`` from the two states the agent has rendered already.

``approvals.evaluate`` renders the base and the target itself (``diff.states``): on a
10,000-document repository that is seconds the agent spent a moment before, rendering the same
two states to plan its apply. An approval's digests are desired-state digests of the committed
state — sha256 per ``env/kind-slug/name`` over the canonical JSON, exactly what ``DesiredState``
holds when no value was decrypted — so the core's public ``change.between`` assembles the
change from those hashes and the documents that differ, and the core's ``decide`` judges it.
A state rendered from SOPS-encrypted files has plaintext digests: the core renders those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qv_config.store.types import DesiredState

if TYPE_CHECKING:
    from qv_config.approvals.change import Change
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
    from qv_config.approvals.change import between

    base, target = rendered.base, rendered.target
    assert base.hashes is not None
    assert target.hashes is not None

    def docs(refs: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        keys = [f"{env}/{ref}" for ref in refs]
        return _docs(base.values, keys), _docs(target.values, keys)

    return between(ws, env, (base.revision, target.revision), (base.hashes, target.hashes), docs)


def _docs(values: Mapping[str, bytes], keys: Sequence[str]) -> dict[str, Any]:
    """``kind-slug/name`` -> document, parsed from the canonical JSON of ``env/kind-slug/name``."""
    return {key.split("/", 1)[1]: json.loads(values[key]) for key in keys if key in values}
