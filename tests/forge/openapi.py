"""GitHub's published OpenAPI description of its REST API, and a checker of every request qv
makes and every response the fake server gives against it.

The description is the npm package ``@octokit/openapi`` at a pinned version: its tarball is
fetched from the npm registry with Python at test time (CI has only Python and the
registries), verified against the pinned sha512 integrity (the registry's ``dist.integrity``),
and ``generated/api.github.com.json`` (and ``ghes-3.19.json``, Enterprise Server's) is kept in
a cache folder outside the repository
(``$QV_TEST_CACHE``, else ``$XDG_CACHE_HOME/qv-tests``, else ``~/.cache/qv-tests``), checked
against its pinned sha256 on every use. Under CI=true a description that cannot be had fails the
tests; elsewhere they skip, saying why.

The description is OpenAPI 3.0 (``nullable``, schema dialect close to JSON Schema draft 4); the
checker rewrites ``nullable`` into JSON Schema and validates with ``jsonschema``'s Draft 4
validator, ``$ref``s resolved inside the description.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
INTEGRITY = "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="  # noqa: E501 (the registry's dist.integrity)
# The descriptions used, by name, with the sha256 of each: github.com's, and the newest
# Enterprise Server's the package has (the ghe_hub fixture is held to it).
MEMBERS = {
    "api.github.com": "829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a",
    "ghes-3.19": "8c852cf1bde4d40ee19dffd9cdd18650bfad09f9dd0cd5039b9d775056104139",
}
REGISTRY = "https://registry.npmjs.org"
BASE = "urn:github-openapi"  # the description's URI for $ref resolution
# Statuses GitHub gives on any endpoint whose description does not list them all: their body
# is checked against the description's shared response of that status.
SHARED_RESPONSES = {
    401: "requires_authentication",
    403: "forbidden",
    404: "not_found",
    422: "validation_failed",
    500: "internal_error",
    503: "service_unavailable",
}


class Unavailable(Exception):
    """The description could not be fetched or verified."""


def cache_dir() -> Path:
    given = os.environ.get("QV_TEST_CACHE")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "qv-tests"


def tarball_url(registry: str | None = None) -> str:
    base = (registry or os.environ.get("QV_NPM_REGISTRY") or REGISTRY).rstrip("/")
    return f"{base}/{PACKAGE}/-/openapi-{VERSION}.tgz"


def cached_path(name: str) -> Path:
    return cache_dir() / f"octokit-openapi-{VERSION}" / f"{name}.json"


def description_bytes(name: str) -> bytes:
    """The verified description ``name``: from the cache, else every one of ``MEMBERS``
    fetched, verified and cached (one download of the tarball)."""
    path = cached_path(name)
    if path.is_file():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == MEMBERS[name]:
            return data
    found = extract(fetch(tarball_url()))
    for member, data in found.items():
        _write_atomically(cached_path(member), data)
    return found[name]


def fetch(url: str) -> bytes:
    import httpx

    try:
        response = httpx.get(url, timeout=httpx.Timeout(120, connect=15), follow_redirects=True)
    except httpx.HTTPError as err:
        raise Unavailable(f"cannot fetch {url}: {err}") from err
    if response.status_code != 200:
        raise Unavailable(f"cannot fetch {url}: HTTP {response.status_code}")
    return response.content


def extract(tarball: bytes) -> dict[str, bytes]:
    """The descriptions out of the package tarball, once it matches ``INTEGRITY``, each checked
    against its pinned sha256."""
    if integrity(tarball) != INTEGRITY:
        raise Unavailable(f"the tarball of {PACKAGE}@{VERSION} does not match its integrity")
    found = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name, sha256 in MEMBERS.items():
            member = archive.extractfile(f"package/generated/{name}.json")  # in memory
            if member is None:
                raise Unavailable(f"{name}.json is missing from {PACKAGE}@{VERSION}")
            found[name] = member.read()
            if hashlib.sha256(found[name]).hexdigest() != sha256:
                raise Unavailable(f"{name}.json of {PACKAGE}@{VERSION} does not match its sha256")
    return found


def integrity(data: bytes) -> str:
    """npm's Subresource-Integrity string of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
        out.write(data)
    os.replace(out.name, path)


@cache
def description(name: str = "api.github.com") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(description_bytes(name))
    return loaded


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema (a ``null`` type, or ``anyOf``)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) is not True:
        return out
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [{"type": "null"}, out]}


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass(frozen=True)
class Operation:
    template: str  # the description's path, /repos/{owner}/{repo}/pulls
    method: str  # lower case
    spec: Mapping[str, Any]
    params: Mapping[str, str]  # path parameters by name


class Checker:
    """Requests and responses against the description. Each ``check_*`` returns the
    violations found (empty: as the description says)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        self.spec = to_json_schema(spec)
        self._registry = Registry().with_resource(BASE, Resource(self.spec, DRAFT4))
        self._paths = [
            (re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(t)) + "$"), t)
            for t in self.spec["paths"]
        ]

    def example(self, name: str) -> Any:
        """A value of ``components.examples`` (GitHub's own sample answers)."""
        return self.spec["components"]["examples"][name]["value"]

    def operation(self, method: str, path: str) -> Operation | None:
        for pattern, template in self._paths:
            found = pattern.match(path)
            if found and method.lower() in self.spec["paths"][template]:
                op = self.spec["paths"][template][method.lower()]
                return Operation(template, method.lower(), op, found.groupdict())
        return None

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        content_type: str | None,
        body: bytes,
    ) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in GitHub's REST API"]
        where = f"{method} {op.template} request"
        found = self._check_params(op, query, where)
        return found + self._check_request_body(op, content_type, body, where)

    def check_response(
        self, method: str, path: str, status: int, content_type: str | None, body: bytes
    ) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in GitHub's REST API"]
        where = f"{method} {op.template} {status} response"
        pointer = self._response_pointer(op, status)
        if pointer is None:
            return [f"{where}: the status is not one the operation gives"]
        declared = self._resolve({"$ref": "#/" + pointer})
        if "schema" not in declared.get("content", {}).get("application/json", {}):
            return [f"{where}: has a body, the description none"] if body else []
        if not (content_type or "").startswith("application/json"):
            return [f"{where}: content type {content_type!r} is not application/json"]
        return self._validate(f"{BASE}#/{pointer}/content/application~1json/schema", body, where)

    def _response_pointer(self, op: Operation, status: int) -> str | None:
        """A JSON pointer to the response ``op`` gives with ``status`` (through its $ref)."""
        declared = op.spec["responses"].get(str(status))
        if declared is None and status in SHARED_RESPONSES:
            declared = {"$ref": f"#/components/responses/{SHARED_RESPONSES[status]}"}
        if declared is None:
            return None
        if "$ref" in declared:
            return str(declared["$ref"]).removeprefix("#/")
        return _pointer("paths", op.template, op.method, "responses", str(status))

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            parts = node["$ref"].removeprefix("#/").split("/")
            target: Any = self.spec
            for part in parts:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _check_params(self, op: Operation, query: Mapping[str, list[str]], where: str) -> list[str]:
        params = [self._resolve(p) for p in op.spec.get("parameters", [])]
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        found = [
            f"{where}: query parameter {n!r} is not declared" for n in query if n not in declared
        ]
        for name, param in declared.items():
            if param.get("required") and name not in query:
                found.append(f"{where}: required query parameter {name!r} is missing")
            for value in query.get(name, []):
                found += self._check_value(param, value, f"{where}: query {name}")
        for param in params:
            if param["in"] == "path":
                found += self._check_value(param, op.params[param["name"]], f"{where}: path")
        return found

    def _check_value(self, param: Mapping[str, Any], text: str, where: str) -> list[str]:
        from jsonschema import Draft4Validator

        schema = param.get("schema", {})
        value: Any = text
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", text):
                return [f"{where}: {text!r} is not an integer"]
            value = int(text)
        elif schema.get("type") == "boolean":
            value = {"true": True, "false": False}.get(text, text)
        return [f"{where}: {e.message}" for e in Draft4Validator(schema).iter_errors(value)]

    def _check_request_body(
        self, op: Operation, content_type: str | None, body: bytes, where: str
    ) -> list[str]:
        declared = op.spec.get("requestBody")
        if declared is None:
            return [f"{where}: sends a body, the description none"] if body else []
        if not body:
            return [f"{where}: the body is required"] if declared.get("required") else []
        if not (content_type or "").startswith("application/json"):
            return [f"{where}: content type {content_type!r} is not application/json"]
        parts = ("paths", op.template, op.method, "requestBody", "content", "application/json")
        ref = f"{BASE}#/{_pointer(*parts, 'schema')}"
        found = self._validate(ref, body, where)
        # GitHub ignores fields it does not know: a misspelt one would be lost silently.
        schema = self._resolve(declared["content"]["application/json"]["schema"])
        known = schema.get("properties")
        try:
            sent = json.loads(body)
        except ValueError:
            return found
        if isinstance(known, dict) and isinstance(sent, dict):
            found += [f"{where}: field {key!r} is not declared" for key in sent if key not in known]
        return found

    def _validate(self, ref: str, body: bytes, where: str) -> list[str]:
        from jsonschema import Draft4Validator

        try:
            value = json.loads(body)
        except ValueError:
            return [f"{where}: the body is not JSON"]
        validator = Draft4Validator({"$ref": ref}, registry=self._registry)
        return [
            f"{where}: at /{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in validator.iter_errors(value)
        ]
