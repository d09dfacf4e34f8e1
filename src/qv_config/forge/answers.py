"""GitHub's refusals as ``ForgeError``s that say what to do: a bad token (401), a rate limit
(403/429, with the time it resets), a missing permission (403), a repository or pull request
the token cannot see (404), a rejected request (422, with GitHub's own words escaped), GitHub
failing (5xx). Everything quoted from an answer passes ``safetext``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qv_config.errors import ForgeError
from qv_config.safetext import bounded, safe

if TYPE_CHECKING:
    import httpx

TOKEN_NEEDS = (
    "a fine-grained token with Pull requests: read and write on the repository, or a classic"
    " token with the repo scope (public_repo for a public repository)"
)


def failure(response: httpx.Response, what: str, api_url: str) -> ForgeError:
    """The error of a non-2xx answer to ``what``, carrying its status."""
    error = _failure(response, what, api_url)
    error.status = response.status_code
    return error


# The refusals of one status: the message (formatted with what GitHub said) and the hint.
_REFUSALS = {
    401: (
        "GitHub refused the token while {what} (401{said})",
        f"set GITHUB_TOKEN to a valid, unexpired token: {TOKEN_NEEDS}",
    ),
    403: (
        "GitHub refused {what} (403{said})",
        f"the token lacks a permission: {TOKEN_NEEDS} (in an organisation with SAML single"
        " sign-on, authorise the token for it)",
    ),
    404: (
        "GitHub found nothing while {what} at {api_url} (404{said})",
        "check the repository (GITHUB_REPOSITORY, else the origin remote) and that the token can"
        " see it: GitHub answers 404 to a token without access to a private repository",
    ),
    422: (
        "GitHub rejected {what} (422{said}{details})",
        "check what GitHub names (a branch GitHub does not have yet: push it; another base"
        " branch: qv promote --base)",
    ),
}


def _failure(response: httpx.Response, what: str, api_url: str) -> ForgeError:
    status, said = response.status_code, _message(response)
    limited = _rate_limited(response, said)
    if limited is not None:
        return limited
    if status in _REFUSALS:
        message, hint = _REFUSALS[status]
        details = _details(response) if status == 422 else ""
        return ForgeError(
            message.format(what=what, said=said, api_url=api_url, details=details), hint=hint
        )
    if 300 <= status < 400:
        moved = safe(response.headers.get("location", "?"))
        return ForgeError(
            f"GitHub answered {status} while {what}: moved to {moved}",
            hint="the repository was renamed or moved: set GITHUB_REPOSITORY to its new name",
        )
    if status >= 500:
        return ForgeError(
            f"GitHub failed while {what} ({status}{said})",
            hint="GitHub is having trouble (see githubstatus.com); run the command again later",
        )
    return ForgeError(f"GitHub answered {status} while {what}{said}", hint="run the command again")


def unreachable(api_url: str, err: Exception) -> ForgeError:
    """No answer at all: the host, the network, TLS."""
    return ForgeError(
        f"cannot reach GitHub at {api_url}: {bounded(str(err) or type(err).__name__)}",
        hint="check the network and QV_GITHUB_API_URL (GitHub Enterprise Server:"
        " https://HOST/api/v3)",
    )


def _rate_limited(response: httpx.Response, said: str) -> ForgeError | None:
    """GitHub's primary limit (403/429 with ``x-ratelimit-remaining: 0``) or its secondary
    limit (429, or 403 with ``retry-after`` or a message saying so)."""
    headers, status = response.headers, response.status_code
    if status not in (403, 429):
        return None
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _reset_time(headers.get("x-ratelimit-reset"))
        return ForgeError(
            f"GitHub's API rate limit for this token is used up ({status}{said})",
            hint=f"wait until {reset} or use another token; GitHub Actions' GITHUB_TOKEN has"
            " its own limit",
        )
    retry = headers.get("retry-after")
    if status == 429 or retry is not None or "secondary rate limit" in said.lower():
        wait = f"{safe(retry, 20)} s" if retry else "a minute"
        return ForgeError(
            f"GitHub's secondary rate limit stopped the request ({status}{said})",
            hint=f"wait {wait} and run the command again",
        )
    return None


def _reset_time(value: str | None) -> str:
    try:
        when = datetime.fromtimestamp(int(value or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return "the limit resets (within the hour)"
    seconds = max(0, int((when - datetime.now(UTC)).total_seconds()))
    return f"{when:%Y-%m-%d %H:%M:%S} UTC (in {seconds} s)"


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(response: httpx.Response) -> str:
    """``: GitHub's message``, escaped and bounded, or nothing."""
    message = _body(response).get("message")
    return f": {bounded(message)}" if isinstance(message, str) and message else ""


def _details(response: httpx.Response) -> str:
    """The ``errors`` of a 422: each one's message, else its field and code."""
    errors = _body(response).get("errors")
    if not isinstance(errors, list):
        return ""
    said = [_detail(item) for item in errors[:5] if isinstance(item, dict | str)]
    return f" — {bounded('; '.join(said))}" if said else ""


def _detail(item: dict[str, Any] | str) -> str:
    if isinstance(item, str):
        return item
    message = item.get("message")
    if isinstance(message, str):
        return message
    return " ".join(str(item.get(key, "")) for key in ("resource", "field", "code")).strip()
