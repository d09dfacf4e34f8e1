"""Store URLs (SPEC §6): ``sqlite:PATH``, ``redis://[:pw@]host:port/db``, ``etcd(s)://host:port``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from qv_config.errors import UsageError

_SCHEMES = ("sqlite", "redis", "rediss", "etcd", "etcds")
_PREFIX_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")


@dataclass(frozen=True)
class StoreUrl:
    scheme: str
    prefix: str
    path: Path | None = None  # sqlite
    host: str = ""
    port: int = 0
    db: int = 0
    password: str | None = None

    @property
    def display(self) -> str:
        """The URL without its password, safe for messages and logs."""
        if self.scheme == "sqlite":
            return f"sqlite:{self.path}"
        db = f"/{self.db}" if self.scheme.startswith("redis") else ""
        return f"{self.scheme}://{self.host}:{self.port}{db}"


def _bad(url: str, why: str) -> UsageError:
    return UsageError(
        f"store URL {url!r} is malformed: {why}",
        hint="use sqlite:PATH, redis://[:password@]host:port/db, etcd://host:port or etcds://host:port,"
        " optionally with ?prefix=P",
    )


def _prefix(url: str, query: str) -> str:
    values = parse_qs(query, keep_blank_values=True)
    unknown = set(values) - {"prefix"}
    if unknown:
        raise _bad(url, f"unknown parameter {sorted(unknown)[0]!r}")
    prefix = values.get("prefix", ["qv"])[-1].strip("/")
    if not prefix or not set(prefix) <= _PREFIX_OK:
        raise _bad(url, "prefix must be non-empty letters, digits, '.', '_', '-' or '/'")
    return prefix


def parse_store_url(url: str, root: Path) -> StoreUrl:
    """Parse and check ``url``; relative SQLite paths are taken from the project ``root``."""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme not in _SCHEMES:
        raise _bad(url, f"unknown scheme {scheme!r}")
    body, _, query = rest.partition("?")
    prefix = _prefix(url, query)
    if scheme == "sqlite":
        if not body or body.startswith("//"):
            raise _bad(url, "sqlite needs a file path: sqlite:.qv/state.db")
        return StoreUrl("sqlite", prefix, path=(root / body).resolve())
    return _network(url, scheme, prefix)


def _network(url: str, scheme: str, prefix: str) -> StoreUrl:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise _bad(url, "the port is not a number") from None
    if not parts.hostname or port is None:
        raise _bad(url, "host and port are required")
    path = parts.path.strip("/")
    db = 0
    if scheme.startswith("redis"):
        if path and not path.isdigit():
            raise _bad(url, f"redis database must be a number, not {path!r}")
        db = int(path or 0)
    elif path:
        raise _bad(url, "etcd URLs take no path (use ?prefix=P)")
    password = unquote(parts.password) if parts.password is not None else None
    return StoreUrl(scheme, prefix, host=parts.hostname, port=port, db=db, password=password)
