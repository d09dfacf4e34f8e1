"""The wire of the GitHub door: one httpx client, the headers GitHub asks for, one error
mapping (``answers.failure``), and Link-header pagination that never leaves the API's origin.

The token is sent in the ``Authorization`` header only: it is in no URL, no message and no
``repr``, so nothing qv prints or logs can carry it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import qv_config
from qv_config.errors import ForgeError
from qv_config.forge.answers import failure, unreachable
from qv_config.safetext import safe

if TYPE_CHECKING:
    import httpx

API_VERSION = "2022-11-28"  # the REST API version qv is written against (X-GitHub-Api-Version)
PER_PAGE = 100  # GitHub's largest page
MAX_PAGES = 100  # 10,000 items: a list longer than that is not a pull request's
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_PASSING = {502, 503, 504}  # GitHub's gateway failing for a moment
RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: its status and its JSON body."""

    status: int
    body: Any


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash, if it is one a token may be sent to: https, or plain
    http to this machine (a test server, a local proxy). Anything else is a usage error."""
    from qv_config.errors import UsageError

    parts = urlsplit(url.strip())
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or (parts.scheme != "https" and not local):
        raise UsageError(
            f"the GitHub API URL {safe(url)!r} is not an https URL",
            hint="set QV_GITHUB_API_URL to https://api.github.com, or https://HOST/api/v3 for"
            " GitHub Enterprise Server (a token is never sent over plain http)",
        )
    if parts.query or parts.fragment or parts.username:
        raise UsageError(
            f"the GitHub API URL {safe(url)!r} has a query, fragment or user name",
            hint="give the API's base URL only, such as https://HOST/api/v3",
        )
    return url.strip().rstrip("/")


class Transport:
    """Calls to one GitHub API base URL with one token."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 30.0) -> None:
        import httpx

        self.api_url = check_api_url(api_url)
        self.timeout = timeout
        self._httpx = httpx
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"qv/{qv_config.__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # A 301/307 (a renamed repository) is reported, not followed: httpx would turn a
            # POST into a GET, and a token should only go where it was sent.
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"Transport({self.api_url!r})"

    def close(self) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Answer:
        """``method path`` (relative to the API URL, or an absolute URL under it); a status
        other than 2xx is a ``ForgeError`` saying what to do (``what``: the action, for it)."""
        response = self._send(method, path, what, params=params, json=json)
        if not 200 <= response.status_code < 300:
            raise failure(response, what, self.api_url)
        return Answer(response.status_code, _json(response, what, self.api_url))

    def pages(
        self, path: str, what: str, params: dict[str, str | int] | None = None
    ) -> Iterator[Any]:
        """Every item of a paginated list: ``per_page=100``, then each ``rel="next"`` link of
        the Link header, for as long as it stays under the API URL."""
        url: str | None = path
        query: dict[str, str | int] | None = {**(params or {}), "per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._send("GET", url, what, params=query)
            if response.status_code != 200:
                raise failure(response, what, self.api_url)
            items = _json(response, what, self.api_url)
            if not isinstance(items, list):
                raise _shape(what, self.api_url, "a list")
            yield from items
            url, query = self._next(response, what), None  # the next link carries its query
        if url is not None:
            raise ForgeError(
                f"GitHub's list goes on past {MAX_PAGES * PER_PAGE} items while {what}",
                hint="this is not a list a pull request has; check QV_GITHUB_API_URL",
            )

    def _next(self, response: httpx.Response, what: str) -> str | None:
        link = response.links.get("next", {}).get("url")
        if link is None:
            return None
        if not _under(link, self.api_url):
            raise ForgeError(
                f"GitHub's next page is not under {self.api_url} while {what}",
                hint="qv sends the token to the API URL only; check QV_GITHUB_API_URL",
            )
        return str(link)

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: dict[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One request; a read (GET) that meets a passing failure of GitHub's (502, 503, 504)
        is asked once more after ``RETRY_AFTER`` s. A write is never repeated: it may have
        been done."""
        request = self._client.build_request(method, url, params=params, json=json)
        response = self._once(request, what)
        if method == "GET" and response.status_code in _PASSING:
            time.sleep(RETRY_AFTER)
            response = self._once(request, what)
        return response

    def _once(self, request: httpx.Request, what: str) -> httpx.Response:
        try:
            return self._client.send(request)
        except self._httpx.TimeoutException:
            raise ForgeError(
                f"GitHub did not answer within {self.timeout:g} s while {what}",
                hint=f"check the network and {self.api_url}; run the command again",
            ) from None
        except self._httpx.TransportError as err:
            raise unreachable(self.api_url, err) from None


def _under(link: str, api_url: str) -> bool:
    """``link`` is on the API's origin and under its path (``/api/v3`` on Enterprise)."""
    there, base = urlsplit(link), urlsplit(api_url)
    same_origin = (there.scheme, there.netloc) == (base.scheme, base.netloc)
    return same_origin and (there.path + "/").startswith(base.path.rstrip("/") + "/")


def _json(response: httpx.Response, what: str, api_url: str) -> Any:
    if response.status_code == 204:
        return None
    try:
        return response.json()
    except ValueError:
        raise _shape(what, api_url, "JSON") from None


def _shape(what: str, api_url: str, expected: str) -> ForgeError:
    return ForgeError(
        f"the answer of {api_url} is not {expected} as GitHub's REST API gives, while {what}",
        hint="is QV_GITHUB_API_URL the API's URL? (GitHub Enterprise Server: https://HOST/api/v3)",
    )
