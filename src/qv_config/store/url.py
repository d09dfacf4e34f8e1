"""Store URLs (SPEC §6): ``sqlite:PATH``, ``redis(s)://[:pw@]host:port/db``, ``etcd(s)://host:port``.

TLS URLs (``rediss``, ``etcds``) take ``?cacert=PATH`` (the CA bundle that verifies the server;
else the system's) and ``?cert=PATH&key=PATH`` (a client certificate, for mutual TLS). This module
also turns TLS failures of either backend into one StoreError that names those parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from qv_config.errors import UsageError
from qv_config.store.errors import StoreError

if TYPE_CHECKING:
    import ssl

_SCHEMES = ("sqlite", "redis", "rediss", "etcd", "etcds")
_TLS_SCHEMES = ("rediss", "etcds")
_TLS_PARAMS = ("cacert", "cert", "key")
_SSL_SOURCE = re.compile(r"\s*\(?_ssl\.c:\d+\)?:?")
_PREFIX_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")

TLS_HINT = (
    "give the store URL ?cacert=PATH (the CA of the server's certificate) and, when the server"
    " demands a client certificate, ?cert=PATH and ?key=PATH; connect by a name or IP that the"
    " server's certificate lists, on its TLS port"
)


@dataclass(frozen=True)
class TlsFiles:
    """Absolute paths of the TLS files of a ``rediss``/``etcds`` URL; None: not given."""

    cacert: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class StoreUrl:
    scheme: str
    prefix: str
    path: Path | None = None  # sqlite
    host: str = ""
    port: int = 0
    db: int = 0
    password: str | None = None
    tls: TlsFiles = field(default_factory=TlsFiles)

    @property
    def display(self) -> str:
        """The URL without its password, safe for messages and logs."""
        if self.scheme == "sqlite":
            return f"sqlite:{self.path}"
        db = f"/{self.db}" if self.scheme.startswith("redis") else ""
        return f"{self.scheme}://{self.host}:{self.port}{db}"


def shown(url: str) -> str:
    """``url`` as a message shows it, credentials hidden: a malformed URL is echoed, and one
    from ``QV_STORE`` lands in CI logs (``StoreUrl.display`` needs a URL that parsed)."""
    head, sep, rest = url.partition("//")
    if not sep:
        return url
    ends = [at for at in (rest.find("/"), rest.find("?")) if at >= 0]
    at = rest.rfind("@", 0, min(ends, default=len(rest)))
    return url if at < 0 else f"{head}//***@{rest[at + 1 :]}"


def _bad(url: str, why: str) -> UsageError:
    return UsageError(
        f"store URL {shown(url)!r} is malformed: {why}",
        hint="use sqlite:PATH, redis(s)://[:password@]host:port/db or etcd(s)://host:port,"
        " optionally with ?prefix=P; rediss and etcds also take ?cacert=, ?cert= and ?key=",
    )


def _prefix(url: str, values: dict[str, list[str]]) -> str:
    prefix = values.get("prefix", ["qv"])[-1].strip("/")
    if not prefix or not set(prefix) <= _PREFIX_OK:
        raise _bad(url, "prefix must be non-empty letters, digits, '.', '_', '-' or '/'")
    return prefix


def _tls_file(url: str, name: str, value: str, root: Path) -> Path:
    if not value:
        raise _bad(url, f"?{name}= needs a file path")
    path = (root / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise UsageError(
            f"store URL {shown(url)!r}: the {name} file {path} does not exist",
            hint="relative paths are taken from the project root (-C DIR)",
        )
    return path


def _tls(url: str, scheme: str, values: dict[str, list[str]], root: Path) -> TlsFiles:
    given = {name: values[name][-1] for name in _TLS_PARAMS if name in values}
    if not given:
        return TlsFiles()
    if scheme not in _TLS_SCHEMES:
        raise _bad(url, "TLS parameters (cacert, cert, key) need rediss:// or etcds://")
    if "key" in given and "cert" not in given:
        raise _bad(url, "?key= needs ?cert= (the client certificate it belongs to)")
    paths = {name: _tls_file(url, name, value, root) for name, value in given.items()}
    return TlsFiles(paths.get("cacert"), paths.get("cert"), paths.get("key"))


def parse_store_url(url: str, root: Path) -> StoreUrl:
    """Parse and check ``url``; relative SQLite and TLS paths are taken from ``root``."""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme not in _SCHEMES:
        raise _bad(url, f"unknown scheme {scheme!r}")
    body, _, query = rest.partition("?")
    values = parse_qs(query, keep_blank_values=True)
    unknown = set(values) - {"prefix", *_TLS_PARAMS}
    if unknown:
        raise _bad(url, f"unknown parameter {sorted(unknown)[0]!r}")
    prefix, tls = _prefix(url, values), _tls(url, scheme, values, root)
    if scheme == "sqlite":
        if not body or body.startswith("//"):
            raise _bad(url, "sqlite needs a file path: sqlite:.qv/state.db")
        _refuse_links(url, root / body, root)
        return StoreUrl("sqlite", prefix, path=(root / body).resolve())
    return _network(url, scheme, prefix, tls)


def _refuse_links(url: str, path: Path, root: Path) -> None:
    """A SQLite store under the project's ``.qv/`` (the default ``sqlite:.qv/state.db``) is
    never reached through a link, like the caches there: a repository can commit ``.qv/state.db``
    (or ``.qv``, or the ``-wal`` file SQLite writes beside it) as a link, and qv would read or
    create a store wherever it points. Explicit paths elsewhere are the user's, links and all."""
    from qv_config.cache.local import file_refused

    for suffix in ("", "-wal", "-shm", "-journal"):
        refused = file_refused(root, path.with_name(path.name + suffix))
        if refused is not None:
            raise StoreError(
                f"the SQLite store {url!r} is under .qv/ but {refused} is a symbolic link (or"
                " not a plain file or folder): qv never follows a link under .qv/ (a"
                " repository can commit one)",
                hint=f"if {refused} came with the repository, delete it; to keep the store"
                " elsewhere, name it with --store sqlite:PATH or QV_STORE",
            )


def _network(url: str, scheme: str, prefix: str, tls: TlsFiles) -> StoreUrl:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is no number, a '[' that opens no IPv6 address
        raise _bad(url, "the host or port is malformed") from None
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
    return StoreUrl(
        scheme, prefix, host=parts.hostname, port=port, db=db, password=password, tls=tls
    )


def tls_context(tls: TlsFiles) -> ssl.SSLContext:
    """The client context of a TLS URL: verifies the server by ``cacert`` (else the system's CA
    store) and its name or IP, and presents ``cert``/``key`` when given. A file that is not PEM,
    or a key that does not match its certificate, is a UsageError naming the files."""
    import ssl  # here: ~7 ms to import, and only TLS URLs need it (every command opens a store)

    try:
        context = ssl.create_default_context(cafile=str(tls.cacert) if tls.cacert else None)
    except ssl.SSLError as err:
        raise UsageError(
            f"cannot load the CA bundle {tls.cacert}: {err}",
            hint="?cacert= takes a PEM file of CA certificates",
        ) from None
    if tls.cert is not None:
        try:
            context.load_cert_chain(tls.cert, tls.key)
        except ssl.SSLError as err:
            files = f"{tls.cert} and {tls.key}" if tls.key else str(tls.cert)
            raise UsageError(
                f"cannot load the client certificate from {files}: {err}",
                hint="?cert= takes a PEM certificate and ?key= its PEM private key (unencrypted);"
                " without ?key= the certificate file must hold the key too",
            ) from None
    return context


def _tls_cause(err: BaseException, handshake: bool) -> BaseException | None:
    """The TLS error behind a client library's transport error (it wraps the ssl one). During a
    handshake a reset is one too: a plain-HTTP etcd sometimes resets instead of closing."""
    import ssl

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "handshake" in str(seen).lower():
            return seen
        if handshake and isinstance(seen, ConnectionResetError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_reason(text: str, host: str) -> str:
    if "mismatch" in text:
        return f"the server's certificate is not valid for {host}"
    if "expired" in text:
        return "the server's certificate has expired"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the server's certificate is not signed by a trusted CA"
    if "ALERT" in text:
        return "the server refused this client's certificate (or its absence)"
    return (
        "the server broke off the handshake: it may demand a client certificate, or not speak"
        " TLS on this port"
    )


def tls_failure(
    where: str, host: str, err: BaseException, handshake: bool = False
) -> StoreError | None:
    """A StoreError saying ``err`` is a TLS problem and which URL parameters fix it; None when
    ``err`` did not come from TLS. ``handshake``: ``err`` broke a TLS connection being opened."""
    cause = _tls_cause(err, handshake)
    if cause is None:
        return None
    # "[SSL: CODE] reason (_ssl.c:1006)": the C source line helps no one reading the message.
    text = _SSL_SOURCE.sub("", str(cause)).strip() or type(cause).__name__
    return StoreError(
        f"TLS problem with {where}: {_tls_reason(text, host)} ({text})", hint=TLS_HINT
    )
