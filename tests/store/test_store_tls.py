"""TLS and mutual TLS for ``rediss://`` and ``etcds://`` store URLs (``?cacert=``, ``?cert=``,
``?key=``): URL parsing, and real TLS servers (certificates made by the ``openssl`` CLI) that
demand a client certificate: round trips, and each TLS failure as one StoreError (exit 3)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from qv_config.errors import UsageError
from qv_config.store import DesiredState, StoreError, apply_desired, open_store, parse_store_url
from qv_config.store.url import TlsFiles

BACKENDS = ["redis", "etcd"]
TLS_PARAMS = ("?cacert=", "?cert=", "?key=")


@pytest.fixture
def certs_root(tls_certs: Any, tmp_path: Path) -> Path:
    """A project root holding copies of the test certificates under ``tls/``."""
    shutil.copytree(tls_certs.ca.parent, tmp_path / "tls")
    return tmp_path


# ---- URL parsing ----------------------------------------------------------------------------


def test_tls_parameters_are_absolute_paths_from_the_root(certs_root: Path) -> None:
    url = parse_store_url(
        "etcds://h:2379?cacert=tls/ca.pem&cert=tls/client.pem&key=tls/client.key&prefix=p",
        certs_root,
    )
    tls = certs_root / "tls"
    assert url.tls == TlsFiles(tls / "ca.pem", tls / "client.pem", tls / "client.key")
    assert (url.prefix, url.display) == ("p", "etcds://h:2379")
    redis = parse_store_url(f"rediss://:pw@h:6380/3?cacert={tls / 'ca.pem'}", Path("/"))
    assert redis.tls == TlsFiles(cacert=tls / "ca.pem")
    assert (redis.db, redis.password, redis.display) == (3, "pw", "rediss://h:6380/3")


def test_cert_alone_is_allowed_when_it_holds_the_key(certs_root: Path) -> None:
    url = parse_store_url("rediss://h:1/0?cert=tls/client.pem", certs_root)
    assert url.tls == TlsFiles(cert=certs_root / "tls/client.pem")


@pytest.mark.parametrize(
    ("url", "display"),
    [
        ("rediss://h:1/2", "rediss://h:1/2"),
        ("etcds://h:1?prefix=x", "etcds://h:1"),
        ("redis://:pw@h:1/0", "redis://h:1/0"),
        ("etcd://h:1", "etcd://h:1"),
    ],
)
def test_urls_without_tls_parameters_are_unchanged(url: str, display: str) -> None:
    parsed = parse_store_url(url, Path("/"))
    assert (parsed.tls, parsed.display) == (TlsFiles(), display)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.tls = TlsFiles()  # type: ignore[misc]


@pytest.mark.parametrize(
    "url",
    [
        "redis://h:1/0?cacert=tls/ca.pem",
        "etcd://h:1?cert=tls/client.pem&key=tls/client.key",
        "sqlite:state.db?cacert=tls/ca.pem",
    ],
)
def test_tls_parameters_need_a_tls_scheme(url: str, certs_root: Path) -> None:
    with pytest.raises(UsageError, match=r"TLS parameters .* need rediss:// or etcds://") as err:
        parse_store_url(url, certs_root)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("etcds://h:1?key=tls/client.key", r"\?key= needs \?cert="),
        ("etcds://h:1?cacert=", r"\?cacert= needs a file path"),
        ("etcds://h:1?cacert=tls/ca.pem&crt=x", "unknown parameter 'crt'"),
        ("rediss://h:1/0?cacert=tls/nope.pem", r"cacert file .*tls/nope\.pem does not exist"),
        ("etcds://h:1?cert=tls/client.pem&key=nope.key", r"key file .*nope\.key does not exist"),
        ("etcds://h:1?cert=tls", r"cert file .*tls does not exist"),  # a directory
    ],
)
def test_bad_tls_parameters_are_usage_errors(url: str, match: str, certs_root: Path) -> None:
    with pytest.raises(UsageError, match=match):
        parse_store_url(url, certs_root)


@pytest.mark.parametrize("scheme", ["rediss://127.0.0.1:1/0", "etcds://127.0.0.1:1"])
@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("?cacert=tls/client.key", r"cannot load the CA bundle .*client\.key"),
        ("?cert=tls/client.pem&key=tls/server.key", r"client certificate from .*client\.pem"),
        ("?cert=tls/client.pem", r"client certificate from .*client\.pem"),  # key elsewhere
    ],
)
def test_unloadable_pem_files_are_usage_errors_before_connecting(
    scheme: str, query: str, match: str, certs_root: Path
) -> None:
    with pytest.raises(UsageError, match=match):
        open_store(scheme + query, certs_root)


# ---- real TLS servers -----------------------------------------------------------------------


def _server(request: pytest.FixtureRequest, backend: str) -> Any:
    return request.getfixturevalue(f"{backend}_tls_server")


def _values(tag: str) -> dict[str, bytes]:
    return {f"dev/config/svc-{i}": json.dumps({"i": i, "rev": tag}).encode() for i in range(5)}


def _assert_tls_error(err: pytest.ExceptionInfo[StoreError], why: str) -> None:
    assert err.value.exit_code == 3
    assert "TLS problem" in str(err.value)
    assert why in str(err.value)
    assert all(param in (err.value.hint or "") for param in TLS_PARAMS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mutual_tls_round_trip(
    backend: str, request: pytest.FixtureRequest, tls_certs: Any, certs_root: Path
) -> None:
    server = _server(request, backend)
    relative = "?cacert=tls/ca.pem&cert=tls/client.pem&key=tls/client.key&prefix=rt"
    store = open_store(server.url + relative, certs_root)
    try:
        desired = DesiredState("dev", "r1", "d1", _values("r1"))
        result = apply_desired(store, desired, is_descendant=lambda a, b: True, applied_by="t@x")
        assert result.status == "applied"
        assert store.read("dev").values == _values("r1")
    finally:
        store.close()
    again = open_store(server.url + tls_certs.query() + "&prefix=rt", Path("/"))
    assert again.read("dev").values == _values("r1")
    again.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_client_certificate_is_a_tls_store_error(
    backend: str, request: pytest.FixtureRequest, tls_certs: Any, tmp_path: Path
) -> None:
    server = _server(request, backend)
    with pytest.raises(StoreError) as err:
        open_store(server.url + tls_certs.query(client=False), tmp_path)
    _assert_tls_error(err, "client certificate")


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_server_ca_is_a_tls_store_error(
    backend: str, request: pytest.FixtureRequest, tls_certs: Any, tmp_path: Path
) -> None:
    server = _server(request, backend)
    with pytest.raises(StoreError) as err:
        open_store(server.url + tls_certs.query(ca=tls_certs.other_ca), tmp_path)
    _assert_tls_error(err, "not signed by a trusted CA")


def test_server_name_mismatch_is_a_tls_store_error(
    etcd_tls_server: Any, tls_certs: Any, tmp_path: Path
) -> None:
    # The server certificate names IP 127.0.0.1 only.
    url = f"etcds://localhost:{etcd_tls_server.port}{tls_certs.query()}"
    with pytest.raises(StoreError) as err:
        open_store(url, tmp_path)
    _assert_tls_error(err, "not valid for localhost")


@pytest.mark.parametrize(("backend", "url"), [("etcd", "etcds://{}"), ("redis", "rediss://{}/0")])
def test_tls_url_against_a_plain_server_is_a_tls_store_error(
    backend: str, url: str, request: pytest.FixtureRequest, tls_certs: Any, tmp_path: Path
) -> None:
    plain = request.getfixturevalue(f"{backend}_server")
    with pytest.raises(StoreError) as err:
        open_store(url.format(f"127.0.0.1:{plain.port}") + tls_certs.query(), tmp_path)
    _assert_tls_error(err, "not speak TLS")


def test_plain_etcd_url_against_tls_etcd_points_to_etcds(
    etcd_tls_server: Any, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="cannot reach etcd") as err:
        open_store(f"etcd://127.0.0.1:{etcd_tls_server.port}", tmp_path)
    assert "etcds://" in (err.value.hint or "")


# ---- the CLI --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_qv_sync_over_mutual_tls(
    backend: str, request: pytest.FixtureRequest, tls_certs: Any, project: Path, sh: Any
) -> None:
    base = f"{_server(request, backend).url}{{}}&prefix=cli{backend}"
    code, out, err = sh.qv(
        project, "sync", "--env", "dev", "--store", base.format(tls_certs.query())
    )
    assert code == 0, err
    assert "Traceback" not in out + err
    no_cert = base.format(tls_certs.query(client=False))
    code, out, err = sh.qv(project, "sync", "--env", "dev", "--store", no_cert)
    assert code == 3
    assert "Traceback" not in out + err
    assert "TLS problem" in err
    assert "?cert=" in err
