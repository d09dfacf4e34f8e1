"""GitHub's JSON read into qv's values (``types.py``): only the fields qv uses, each checked
(GitHub adds fields freely, so others are ignored); an answer without them is a
``ForgeError``, never a ``KeyError`` deep in the approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from qv_config.errors import ForgeError
from qv_config.forge.types import PullCommit, PullRequest, Review


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Branch(_Wire):
    ref: str
    sha: str


class _Pull(_Wire):
    number: int
    html_url: str
    head: _Branch
    base: _Branch


class _User(_Wire):
    login: str
    type: str = "User"


class _Review(_Wire):
    id: int
    user: _User | None
    state: str
    commit_id: str | None
    submitted_at: datetime | None = None


class _Account(_Wire):
    login: str | None = None  # GitHub gives {} for an e-mail that maps to no account


class _Commit(_Wire):
    sha: str
    author: _Account | None
    committer: _Account | None


_W = TypeVar("_W", bound=_Wire)


def _read(model: type[_W], data: Any, what: str) -> _W:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        where = ".".join(str(part) for part in err.errors()[0]["loc"]) or "the answer"
        raise ForgeError(
            f"GitHub's answer while {what} lacks what the REST API describes ({where})",
            hint="is QV_GITHUB_API_URL the API's URL? (GitHub Enterprise Server:"
            " https://HOST/api/v3)",
        ) from None


def pull(data: Any, what: str, *, created: bool = False) -> PullRequest:
    read = _read(_Pull, data, what)
    return PullRequest(
        number=read.number,
        url=read.html_url,
        head_sha=read.head.sha,
        head_ref=read.head.ref,
        base_ref=read.base.ref,
        created=created,
    )


def review(data: Any, what: str) -> Review:
    read = _read(_Review, data, what)
    user = read.user
    return Review(
        login=user.login if user else "",
        state=read.state,
        commit_id=read.commit_id,
        submitted_at=read.submitted_at,
        user_type=user.type if user else "",
        review_id=read.id,
    )


def commit(data: Any, what: str) -> PullCommit:
    read = _read(_Commit, data, what)
    return PullCommit(
        sha=read.sha,
        author_login=read.author.login if read.author else None,
        committer_login=read.committer.login if read.committer else None,
    )
