"""A ``GitHub`` client from the environment, as a CI job or a shell has it.

- the token: ``GITHUB_TOKEN`` (required; never printed);
- the API's base URL: ``QV_GITHUB_API_URL``, else ``GITHUB_API_URL`` (GitHub Actions sets it,
  on Enterprise Server too), else ``https://HOST/api/v3`` when the origin remote is on a server
  other than github.com (Enterprise Server; ``https://api.HOST`` for ``*.ghe.com``), else
  ``https://api.github.com``;
- the repository: ``GITHUB_REPOSITORY`` (``owner/name``, set by Actions), else the origin
  remote's URL (``git remote get-url origin``, through ``repo/gitcmd``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from qv_config.errors import UsageError
from qv_config.forge.github import DEFAULT_API_URL, GitHub
from qv_config.forge.types import PullRequest
from qv_config.repo import gitcmd
from qv_config.safetext import safe

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")  # git@host:owner/name
_PULL_REF = re.compile(r"^refs/pull/(\d+)/(?:merge|head)$")


@dataclass(frozen=True, slots=True)
class Remote:
    """Where the origin remote points: its host and ``owner/name`` path."""

    host: str
    path: str


def from_env(root: Path, environ: Mapping[str, str] | None = None) -> GitHub:
    """The client for the repository at ``root``, as the environment configures it."""
    env = os.environ if environ is None else environ
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "no GitHub token: GITHUB_TOKEN is not set",
            hint="export GITHUB_TOKEN=<token> (Pull requests: read and write; in GitHub"
            " Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}); see docs/forge.md",
        )
    remote = None if env.get("GITHUB_REPOSITORY") else origin(root)
    repo = env.get("GITHUB_REPOSITORY") or (remote.path if remote else "")
    if not repo:
        raise UsageError(
            "no GitHub repository: GITHUB_REPOSITORY is not set and there is no origin remote",
            hint="export GITHUB_REPOSITORY=owner/name, or git remote add origin <url>",
        )
    return GitHub(repo, token, api_url(env, remote))


def open_pull(
    root: Path,
    *,
    head: str,
    base: str,
    title: str,
    body: str,
    environ: Mapping[str, str] | None = None,
) -> PullRequest:
    """``qv promote --open-pr`` in one call: the pull request of branch ``head`` into ``base``
    opened, or its body updated when one is open, with the client the environment configures."""
    with from_env(root, environ) as forge:
        return forge.open_pull(head, base, title, body)


def api_url(env: Mapping[str, str], remote: Remote | None) -> str:
    """The API's base URL: set, or worked out from the origin's host."""
    chosen = env.get("QV_GITHUB_API_URL") or env.get("GITHUB_API_URL")
    if chosen:
        return chosen
    host = remote.host.lower() if remote is not None else "github.com"
    if host.endswith(".ghe.com"):  # Enterprise Cloud with data residency
        return f"https://api.{host}"
    if host == "github.com" or host.endswith(".github.com") or "." not in host:
        return DEFAULT_API_URL  # "." not in host: an SSH alias (Host github-work), not a server
    return f"https://{host}/api/v3"  # Enterprise Server


def origin(root: Path) -> Remote | None:
    """The origin remote's host and ``owner/name``; None without an origin remote."""
    done = gitcmd.run(root, "remote", "get-url", "origin")
    if not done.ok:
        return None
    return parse_remote(done.text.strip())


def parse_remote(url: str) -> Remote:
    """``https://host/owner/name(.git)``, ``ssh://git@host[:port]/owner/name.git`` or
    ``git@host:owner/name.git`` as host and ``owner/name``."""
    scp = _SCP.match(url) if "://" not in url else None
    if scp is not None:
        host, path = scp["host"], scp["path"]
    else:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    path = path.strip("/").removesuffix(".git")
    if not host or path.count("/") != 1:
        raise UsageError(
            f"the origin remote {safe(url)!r} is not a GitHub repository URL",
            hint="export GITHUB_REPOSITORY=owner/name",
        )
    return Remote(host, path)


def pull_number(env: Mapping[str, str] | None = None) -> int | None:
    """The pull request a GitHub Actions job runs for (``GITHUB_REF=refs/pull/N/merge``), or
    ``QV_PULL_REQUEST``; None outside one."""
    env = os.environ if env is None else env
    given = env.get("QV_PULL_REQUEST", "").strip()
    if given:
        if not given.isdigit():
            raise UsageError(
                f"QV_PULL_REQUEST={safe(given)!r} is not a pull request number",
                hint="set it to the number alone, such as 42",
            )
        return int(given)
    found = _PULL_REF.match(env.get("GITHUB_REF", ""))
    return int(found[1]) if found else None
