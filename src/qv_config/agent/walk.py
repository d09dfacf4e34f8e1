"""Which states the agent applies: the first-parent chain from the deployed revision to the tip.

Each commit on that chain whose *input key* (the object ids of the trees the environment is
rendered from, ``repo.history.input_keys``) differs from the previous one is a state; commits that
cannot change the effective configuration are skipped without rendering. Equal digests of the
remaining ones are skipped by the store's minimal apply anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from qv_config.agent.source import GitMirror
from qv_config.errors import CheckFailed, GitError


class HistoryRewritten(CheckFailed):
    """The deployed revision is not an ancestor of the branch tip (force-push, reset)."""


def _bases(mirror: GitMirror, rev: str) -> tuple[str, ...]:
    from qv_config.repo.files import RefusedFile
    from qv_config.repo.manifest import bases_of

    try:
        return bases_of(mirror.read_file(rev, "qv.yaml"))
    except RefusedFile:
        return bases_of(None)  # rendering reports a refused qv.yaml; the default applies here


def _chain(mirror: GitMirror, deployed: str, tip: str) -> list[str]:
    from qv_config.repo.history import git

    out = git(mirror.path, "rev-list", "--first-parent", "--reverse", f"{deployed}..{tip}")
    return out.split()


def states_to_apply(
    mirror: GitMirror, env: str, deployed: str | None, tip: str, schemas: Sequence[str] = ()
) -> list[str]:
    """Revisions to apply, oldest first; ``[tip]`` on a first deploy, ``[]`` when up to date.
    ``schemas``: the schema files outside the key's folders the deployed state was checked
    against (``_meta.inputs``): their changes are states too, validated (while the input key is
    the deployed one, its documents name those same files)."""
    from qv_config.repo.history import env_keys, is_ancestor

    if deployed is None:
        return [tip]
    if deployed == tip:
        return []
    if not mirror.has_commit(deployed):
        damage = mirror.damage()  # a lost object is the mirror's fault, not a rewritten history
        if damage is not None:
            raise GitError(f"the Git mirror {mirror.path} is damaged: {damage}")
        raise HistoryRewritten(
            f"the deployed revision {deployed[:12]} is not in the history of {mirror.display}"
            " (deployed from a commit that was never pushed, or history was rewritten)",
            hint="push the deployed commit, or go back on purpose with `qv rollback`; the agent"
            " applies nothing until then",
        )
    if not is_ancestor(mirror.path, deployed, tip):
        raise HistoryRewritten(
            f"the branch tip {tip[:12]} is not a descendant of the deployed revision"
            f" {deployed[:12]} (history was rewritten, e.g. by a force-push)",
            hint="restore the branch so that it contains the deployed revision, or go back on"
            " purpose with `qv rollback`; the agent applies nothing until then",
        )
    chain = _chain(mirror, deployed, tip)
    keys = env_keys(mirror.path, [deployed, *chain], env, _bases(mirror, tip), schemas).keys
    states: list[str] = []
    previous = keys[deployed]
    for rev in chain:
        if keys[rev] != previous:
            states.append(rev)
            previous = keys[rev]
    return states
