"""The ``github`` review source as ``qv approvals``, ``qv review`` and the agent's gate use it.

``EnvReviews`` makes its ``GitHub`` client from the environment (``forge.env.from_env``) only
when the approvals core first asks it for reviews, that is only when the base's policy lists
``github`` in ``sources`` and a rule covers the change: a repository that counts only signed
approvals never needs a token, and never imports httpx. Whatever keeps it from answering (no
token, no repository, no pull request for the change, GitHub down) is a ``QvError`` that the
core turns into a note of the verdict: the github source not consulted, and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from qv_config.errors import UsageError
from qv_config.forge.types import Review
from qv_config.safetext import safe

if TYPE_CHECKING:  # the client and its wire models (pydantic, ~75 ms) only when asked
    from qv_config.forge.reviews import GitHubReviews


class EnvReviews:
    """Pull-request reviews read from GitHub as the environment configures it. The pull
    request is ``number`` (``--pr``), else the one ``QV_PULL_REQUEST`` or the workflow run names
    (``forge.env.pull_number``), else the one GitHub associates with the change's newest commit.
    Each pull request's reviews are read once, whatever the number of environments asking."""

    name = "github"

    def __init__(
        self, root: Path, number: int | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.root = root
        self.number = number
        self.environ = environ
        self._source: GitHubReviews | None = None
        self._read: dict[int, tuple[Review, ...]] = {}

    def reviews(self, env: str, target_digest: str, commits: Sequence[str]) -> tuple[Review, ...]:
        source = self._open()
        number = source.number if source.number is not None else source.pull_of(commits)
        if number is None:
            newest = safe(commits[0][:12]) if commits else "(none)"
            raise UsageError(
                f"no pull request on {source.forge.repo} has the change's newest commit {newest}",
                hint="name it: qv approvals --pr N (or QV_PULL_REQUEST=N)",
            )
        if number not in self._read:
            self._read[number] = source.of_pull(number)
        return self._read[number]

    def _open(self) -> GitHubReviews:
        if self._source is None:
            from qv_config.forge.env import from_env, pull_number
            from qv_config.forge.reviews import GitHubReviews

            number = self.number if self.number is not None else pull_number(self.environ)
            self._source = GitHubReviews(from_env(self.root, self.environ), number)
        return self._source

    def close(self) -> None:
        if self._source is not None:
            self._source.forge.close()

    def __enter__(self) -> EnvReviews:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
