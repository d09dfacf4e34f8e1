"""``GitHub``: the calls qv makes to GitHub's REST API, for one repository.

Pull requests (open or update one for a branch, find one, read one, those of a commit), their
reviews and their commits. Endpoints, as GitHub's OpenAPI description names them:
``pulls/create``, ``pulls/update``, ``pulls/list``, ``pulls/get``, ``pulls/list-reviews``,
``pulls/list-commits``, ``repos/list-pull-requests-associated-with-commit``. docs/forge.md
lists them with the permissions they need.
"""

from __future__ import annotations

import re
from types import TracebackType

from qv_config.errors import ForgeError, UsageError
from qv_config.forge import wire
from qv_config.forge.http import Transport
from qv_config.forge.types import PullCommit, PullRequest, Review
from qv_config.safetext import safe

DEFAULT_API_URL = "https://api.github.com"
BODY_LIMIT = 65536  # characters GitHub takes in a pull request's body (more is a 422)
_CUT_NOTE = (
    "\n\n*The rest is cut: GitHub takes {limit:,} characters in a pull request's body."
    " `qv diff` shows the whole change.*\n"
)
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no blank
# owner: letters, digits, hyphens; repository: letters, digits, '.', '-', '_' (never . or ..)
_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}")


def fit_body(body: str, limit: int = BODY_LIMIT) -> str:
    """``body`` as GitHub takes it: a longer one is cut at a line end, an open code fence
    closed, and a note says so (a whole-environment promotion can diff more than that)."""
    if len(body) <= limit:
        return body
    note = _CUT_NOTE.format(limit=limit)
    room = limit - len(note) - len("\n```")
    cut = body.rfind("\n", 0, room)
    kept = body[: cut if cut > 0 else room]
    fences = sum(1 for line in kept.splitlines() if line.lstrip().startswith("```"))
    return kept + ("\n```" if fences % 2 else "") + note


def check_token(token: str) -> str:
    """``token`` without surrounding blanks, if it can be one (printable ASCII: it goes into
    an HTTP header); a usage error that never quotes it otherwise."""
    token = token.strip()
    if not token:
        raise UsageError(
            "no GitHub token: GITHUB_TOKEN is empty",
            hint="export GITHUB_TOKEN (a token with Pull requests: read and write)",
        )
    if not _TOKEN.fullmatch(token):
        raise UsageError(
            "GITHUB_TOKEN holds characters no GitHub token has (blanks, control or non-ASCII)",
            hint="copy the token again, without quotes or line breaks",
        )
    return token


def check_repo(repo: str) -> str:
    """``owner/name`` as GitHub spells repositories, else a usage error."""
    if not _REPO.fullmatch(repo):
        raise UsageError(
            f"{safe(repo)!r} is not a GitHub repository name (owner/name)",
            hint="set GITHUB_REPOSITORY=owner/name, or an origin remote on GitHub",
        )
    return repo


class GitHub:
    """GitHub's REST API for one repository (``owner/name``) with one token."""

    def __init__(
        self, repo: str, token: str, api_url: str = DEFAULT_API_URL, *, timeout: float = 30.0
    ) -> None:
        self.repo = check_repo(repo)
        self._http = Transport(api_url, check_token(token), timeout=timeout)

    @property
    def api_url(self) -> str:
        return self._http.api_url

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    def __repr__(self) -> str:  # never the token
        return f"GitHub({self.repo!r}, api_url={self.api_url!r})"

    def __enter__(self) -> GitHub:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def open_pull(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request from branch ``head`` into ``base``; when one is open already for
        that head and base, update its body instead (a promotion run again)."""
        body = fit_body(body)
        existing = self.pull_for_head(head, base=base)
        if existing is not None:
            return self._update_body(existing, body)
        what = f"opening a pull request from {safe(head)} into {safe(base)} on {self.repo}"
        payload = {"title": title, "head": head, "base": base, "body": body}
        try:
            answer = self._http.call("POST", f"/repos/{self.repo}/pulls", what, json=payload)
        except ForgeError as err:
            raced = err.status == 422 and self.pull_for_head(head, base=base)
            if not raced:
                raise
            return self._update_body(raced, body)  # opened meanwhile by someone else
        return wire.pull(answer.body, what, created=True)

    def _update_body(self, pull: PullRequest, body: str) -> PullRequest:
        what = f"updating the body of pull request #{pull.number} on {self.repo}"
        path = f"/repos/{self.repo}/pulls/{pull.number}"
        answer = self._http.call("PATCH", path, what, json={"body": body})
        return wire.pull(answer.body, what)

    def pull_for_head(self, branch: str, *, base: str | None = None) -> PullRequest | None:
        """The open pull request whose head is ``branch`` (of this repository, unless given as
        ``owner:branch``), into ``base`` if given; None when there is none."""
        head = branch if ":" in branch else f"{self.owner}:{branch}"
        what = f"looking for a pull request of {safe(head)} on {self.repo}"
        params: dict[str, str | int] = {"state": "open", "head": head}
        if base is not None:
            params["base"] = base
        answer = self._http.call("GET", f"/repos/{self.repo}/pulls", what, params=params)
        found = answer.body if isinstance(answer.body, list) else []
        return wire.pull(found[0], what) if found else None

    def pull(self, number: int) -> PullRequest:
        """Pull request ``number`` (its head commit as it is now)."""
        what = f"reading pull request #{number} of {self.repo}"
        answer = self._http.call("GET", f"/repos/{self.repo}/pulls/{int(number)}", what)
        return wire.pull(answer.body, what)

    def pulls_for_commit(self, sha: str) -> list[PullRequest]:
        """The pull requests that brought commit ``sha`` (open, closed or merged): where the
        reviews of a commit on the default branch were given."""
        what = f"listing the pull requests of commit {safe(sha[:12])} on {self.repo}"
        path = f"/repos/{self.repo}/commits/{_sha(sha)}/pulls"
        return [wire.pull(item, what) for item in self._http.pages(path, what)]

    def reviews(self, number: int) -> list[Review]:
        """Every review of pull request ``number``, oldest first (all pages)."""
        what = f"listing the reviews of {self.repo}#{number}"
        path = f"/repos/{self.repo}/pulls/{int(number)}/reviews"
        return [wire.review(item, what) for item in self._http.pages(path, what)]

    def pull_commits(self, number: int) -> list[PullCommit]:
        """The commits of pull request ``number``, oldest first (GitHub lists at most 250)."""
        what = f"listing the commits of {self.repo}#{number}"
        path = f"/repos/{self.repo}/pulls/{int(number)}/commits"
        return [wire.commit(item, what) for item in self._http.pages(path, what)]


def _sha(sha: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{7,64}", sha):
        raise UsageError(f"{safe(sha)!r} is not a commit id", hint="give a full hexadecimal id")
    return sha
