"""A local HTTP server on loopback that answers like GitHub's REST API for the endpoints qv
calls (pulls/create, pulls/update, pulls/list, pulls/get, pulls/list-reviews,
pulls/list-commits), built from GitHub's own sample answers in the OpenAPI description.

Every request it receives and every response it gives passes ``openapi.Checker``; what does not
match the description is kept in ``violations`` (the fixture fails the test on any), so neither
qv nor this server can drift from the real API unnoticed.
"""

from __future__ import annotations

import copy
import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.forge.openapi import Checker

TOKEN = "ghp_test0123456789abcdefghijklmnopqrstuv"  # what the server accepts
DOCS = "https://docs.github.com/rest"
Json = Any
Reply = tuple[int, dict[str, str], Json]


@dataclass
class Repo:
    """One repository's state: its branches (name → head sha; with ``git_dir``, a bare
    repository qv pushes to, its branches are read from there too) and pull requests."""

    branches: dict[str, str] = field(default_factory=lambda: {"main": "a" * 40})
    git_dir: Path | None = None

    def branch(self, name: str) -> str | None:
        if self.git_dir is not None:
            done = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(self.git_dir),
                    "rev-parse",
                    "--verify",
                    "-q",
                    f"refs/heads/{name}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                return done.stdout.strip()
        return self.branches.get(name)

    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)  # sha → pulls that had it


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeGitHub:
    """The server's state and knobs; ``url`` is its API base URL (with ``prefix``)."""

    def __init__(self, checker: Checker, prefix: str = "") -> None:
        self.checker = checker
        self.prefix = prefix
        self.repos: dict[str, Repo] = {"octo/trading-config": Repo()}
        self.tokens = {TOKEN}
        self.seen: list[Seen] = []
        self.violations: list[str] = []
        self.scripted: list[Reply] = []  # answers given next, before any routing
        self.mangle: Callable[[Json], Json] | None = None  # bends the next JSON answer
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests set up --------------------------------------------------------------------

    def add_review(
        self,
        repo: str,
        number: int,
        login: str,
        state: str,
        commit_id: str | None,
        *,
        user_type: str = "User",
        at: datetime | None = None,
    ) -> None:
        reviews = self.repos[repo].reviews.setdefault(number, [])
        item = copy.deepcopy(self.checker.example("pull-request-review-items")[0])
        review_id = 80 + len(reviews)
        item.update(id=review_id, state=state, commit_id=commit_id, body="")
        item["user"].update(login=login, type=user_type)
        when = at or datetime(2026, 12, 7, 9, 0, len(reviews) % 60, tzinfo=UTC)
        item["submitted_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if state == "PENDING":
            del item["submitted_at"]
        reviews.append(item)

    def add_commit(self, repo: str, number: int, sha: str, author: str | None) -> None:
        item = copy.deepcopy(self.checker.example("commit-items")[0])
        item["sha"] = sha
        item["author"] = {**item["author"], "login": author} if author else None
        self.repos[repo].commits.setdefault(number, []).append(item)

    def requests(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method is None or s.method == method]

    # -- answers ------------------------------------------------------------------------------

    def answer(self, seen: Seen) -> Reply:
        auth = seen.headers.get("authorization", "")
        if auth.removeprefix("Bearer ").removeprefix("token ") not in self.tokens:
            return _error(401, "Bad credentials")
        if self.scripted:
            return self.scripted.pop(0)
        return route(self, seen)

    def pull_json(self, repo: str, number: int, simple: bool = False) -> Json:
        pull = self.repos[repo].pulls[number]
        name = "pull-request-simple-items" if simple else "pull-request"
        item = copy.deepcopy(self.checker.example(name))
        item = item[0] if simple else item
        owner = repo.split("/", maxsplit=1)[0]
        html = f"https://github.example/{repo}/pull/{number}"
        item.update(number=number, html_url=html, title=pull["title"], body=pull["body"])
        item.update(state="open", requested_teams=[], requested_reviewers=[])
        item["head"].update(ref=pull["head"], sha=self.repos[repo].branch(pull["head"]))
        item["head"]["label"] = f"{owner}:{pull['head']}"
        item["base"].update(ref=pull["base"], sha=self.repos[repo].branch(pull["base"]))
        return item


def _error(status: int, message: str, **extra: Any) -> Reply:
    body = {"message": message, "documentation_url": DOCS, **extra}
    if status != 422:
        body["status"] = str(status)
    return status, {}, body


def route(hub: FakeGitHub, seen: Seen) -> Reply:
    parts = seen.path.removeprefix(hub.prefix).strip("/").split("/")
    repo = "/".join(parts[1:3])
    if len(parts) < 4 or parts[0] != "repos" or repo not in hub.repos:
        return _error(404, "Not Found")
    if parts[3] == "commits" and len(parts) == 6 and parts[5] == "pulls":
        numbers = hub.repos[repo].commit_pulls.get(parts[4], [])
        return _page(hub, seen, [hub.pull_json(repo, n, simple=True) for n in numbers])
    if parts[3] != "pulls":
        return _error(404, "Not Found")
    rest = parts[4:]
    if not rest:
        return _list_or_create(hub, repo, seen)
    if not rest[0].isdigit() or int(rest[0]) not in hub.repos[repo].pulls:
        return _error(404, "Not Found")
    number = int(rest[0])
    if len(rest) == 1:
        return _get_or_update(hub, repo, number, seen)
    items = {"reviews": hub.repos[repo].reviews, "commits": hub.repos[repo].commits}
    if len(rest) == 2 and rest[1] in items and seen.method == "GET":
        return _page(hub, seen, items[rest[1]].get(number, []))
    return _error(404, "Not Found")


def _too_long(body: dict[str, Any]) -> Reply | None:
    """GitHub's answer to a body over 65,536 characters."""
    if len(body.get("body") or "") <= 65536:
        return None
    message = "body is too long (maximum is 65536 characters)"
    errors = [{"resource": "Issue", "code": "custom", "field": "body", "message": message}]
    return _error(422, "Validation Failed", errors=errors)


def _list_or_create(hub: FakeGitHub, repo: str, seen: Seen) -> Reply:
    state = hub.repos[repo]
    if seen.method == "GET":
        head = seen.query.get("head", [None])[0]
        base = seen.query.get("base", [None])[0]
        owner = repo.split("/", maxsplit=1)[0]
        found = [
            hub.pull_json(repo, n, simple=True)
            for n, p in sorted(state.pulls.items())
            if (head is None or head == f"{owner}:{p['head']}") and base in (None, p["base"])
        ]
        return 200, {}, found
    body = json.loads(seen.body)
    if (refused := _too_long(body)) is not None:
        return refused
    for name in ("head", "base"):
        if not isinstance(body.get(name), str) or state.branch(body[name]) is None:
            return _error(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": name, "code": "invalid"}],
            )
    if any(p["head"] == body["head"] and p["base"] == body["base"] for p in state.pulls.values()):
        message = (
            f"A pull request already exists for {repo.split('/', maxsplit=1)[0]}:{body['head']}."
        )
        errors = [{"resource": "PullRequest", "code": "custom", "message": message}]
        return _error(422, "Validation Failed", errors=errors)
    number = max(state.pulls, default=0) + 1
    state.pulls[number] = {k: body.get(k, "") for k in ("title", "body", "head", "base")}
    location = f"{hub.url}/repos/{repo}/pulls/{number}"
    return 201, {"Location": location}, hub.pull_json(repo, number)


def _get_or_update(hub: FakeGitHub, repo: str, number: int, seen: Seen) -> Reply:
    if seen.method == "PATCH":
        body = json.loads(seen.body)
        if (refused := _too_long(body)) is not None:
            return refused
        hub.repos[repo].pulls[number].update({k: body[k] for k in ("title", "body") if k in body})
    return 200, {}, hub.pull_json(repo, number)


def _page(hub: FakeGitHub, seen: Seen, items: list[Any]) -> Reply:
    per_page = int(seen.query.get("per_page", ["30"])[0])
    page = int(seen.query.get("page", ["1"])[0])
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        last = -(-len(items) // per_page)
        link = f"{hub.url}{seen.path.removeprefix(hub.prefix)}?per_page={per_page}"
        headers["Link"] = f'<{link}&page={page + 1}>; rel="next", <{link}&page={last}>; rel="last"'
    return 200, headers, chunk


def _encoded(body: Json) -> tuple[bytes, str | None]:
    """JSON, as GitHub answers; bytes as they are (a page that is not the API's, scripted)."""
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, "text/html; charset=utf-8"
    return json.dumps(body).encode(), "application/json; charset=utf-8"


def _handler(hub: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            seen = Seen(
                self.command,
                split.path,
                parse_qs(split.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            with hub._lock:
                hub.seen.append(seen)
                api_path = seen.path.removeprefix(hub.prefix)
                hub.violations += hub.checker.check_request(
                    seen.method, api_path, seen.query, self.headers.get("content-type"), seen.body
                )
                status, headers, body = hub.answer(seen)
                if hub.mangle is not None and body is not None:
                    body, hub.mangle = hub.mangle(copy.deepcopy(body)), None
                data, content_type = _encoded(body)
                hub.violations += hub.checker.check_response(
                    seen.method, api_path, status, content_type, data
                )
            if hub.delay:
                time.sleep(hub.delay)
            self._send(status, headers, content_type, data)

        def _send(
            self, status: int, headers: dict[str, str], kind: str | None, data: bytes
        ) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler
