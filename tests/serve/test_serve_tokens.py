"""Tokens: hashed at rest, per environment, secrets only with `secrets:read`; without tokens
loopback only; the CLI's refusals; access logs name the token, never show it."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from qv_config.client import ConfigClient
from qv_config.errors import UsageError
from qv_config.serve import tokens
from qv_config.serve.masking import MASK
from tests.inprocess import run_qv
from tests.serve.conftest import InProcess, Synced, make_app, start_serve


@pytest.fixture
def token_file(tmp_path: Path) -> tuple[Path, str, str, str]:
    path = tmp_path / "tokens.yaml"
    reader = tokens.add(path, "oms", ["dev"], secrets_read=False)
    secret = tokens.add(path, "vault-sync", ["dev"], secrets_read=True)
    other = tokens.add(path, "prod-only", ["prod"], secrets_read=True)
    return path, reader, secret, other


def test_the_file_holds_hashes_only(token_file: tuple[Path, str, str, str]) -> None:
    path, reader, secret, other = token_file
    text = path.read_text()
    for token in (reader, secret, other):
        assert token not in text
        assert tokens.digest(token) in text
    assert path.stat().st_mode & 0o077 == 0
    with pytest.raises(UsageError, match="already has a token named"):
        tokens.add(path, "oms", ["dev"], secrets_read=False)


@pytest.mark.parametrize(
    "content",
    [
        "tokens: 3",
        "tokens: [{name: a, sha256: short, environments: {dev: [read]}}]",
        "tokens: [{name: a, sha256: " + "a" * 64 + ", environments: {dev: [write]}}]",
        "- [unclosed",
    ],
)
def test_a_malformed_token_file_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(content)
    with pytest.raises(UsageError) as caught:
        tokens.load(path, "dev")
    # The advice names the option that exists (it named a `qv serve token add` subcommand).
    assert "--add-token NAME" in (caught.value.hint or "")


def test_grants_per_environment_and_secrets(
    client: ConfigClient, synced: Synced, token_file: tuple[Path, str, str, str]
) -> None:
    from anyio.from_thread import start_blocking_portal

    path, reader, secret, other = token_file
    app = make_app(client, synced.root, tokens=tokens.load(path, "dev"))
    with start_blocking_portal() as portal:
        http = InProcess(portal, app)
        doc = "/v1/dev/config/market-data"
        assert http.get(doc).status_code == 401
        assert http.get(doc).headers["www-authenticate"].startswith("Bearer")
        assert http.get(doc, headers={"authorization": "Bearer nope"}).status_code == 401
        assert http.get(doc, headers={"authorization": f"Bearer {other}"}).status_code == 401
        masked = http.get(doc, headers={"authorization": f"Bearer {reader}"}).json()
        assert {v["api_key"] for v in masked["spec"]["vendors"]} == {MASK}
        plain = http.get(doc, headers={"authorization": f"Bearer {secret}"})
        shown = {v["api_key"] for v in plain.json()["spec"]["vendors"]}
        assert MASK not in shown
        assert shown
        assert "masked" not in plain.headers["etag"]
        # Unleash SDKs send the bare token in Authorization
        assert (
            http.get("/api/client/features", headers={"authorization": reader}).status_code == 200
        )
        assert http.get("/healthz").status_code == 200  # public
        assert http.get("/metrics").status_code == 401


def test_without_tokens_only_loopback_may_be_bound(
    synced: Synced, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_qv(
        capsys, synced.root, "serve", "--env", "dev", "--store", synced.url, "--host", "0.0.0.0"
    )
    assert result.code == 2
    assert "not a loopback address" in result.err
    assert "--tokens" in result.err
    result = run_qv(capsys, synced.root, "serve", "--env", "dev", "--certfile", "x.pem")
    assert result.code == 2
    assert "go together" in result.err
    result = run_qv(capsys, synced.root, "serve", "--env", "dev", "--add-token", "x")
    assert result.code == 2
    assert "--tokens" in result.err


def test_add_token_then_serve_with_it_over_tls(
    synced: Synced, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.servers import make_certs

    path = tmp_path / "tokens.yaml"
    result = run_qv(
        capsys, synced.root, "serve", "--env", "dev", "--tokens", str(path), "--add-token", "oms"
    )
    assert result.code == 0, result.err
    token = result.out.strip()
    assert token.startswith("qvt_")
    assert token not in path.read_text()
    certs = make_certs(tmp_path / "certs")
    live = start_serve(
        synced.root,
        synced.url,
        "--tokens",
        str(path),
        "--certfile",
        str(certs.server_cert),
        "--keyfile",
        str(certs.server_key),
        scheme="https",
    )
    ca = ssl.create_default_context(cafile=str(certs.ca))
    try:
        url = f"{live.base}/v1/dev/flag/pre-trade-risk-v2"
        assert httpx.get(url, verify=ca).status_code == 401
        got = httpx.get(url, verify=ca, headers={"authorization": f"Bearer {token}"})
        assert got.status_code == 200
    finally:
        log = live.stop()
    assert token not in log
    assert '"token":"oms"' in log


def test_a_missing_or_bad_token_file_is_exit_2(
    synced: Synced, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    result = run_qv(capsys, synced.root, "serve", "--env", "dev", "--tokens", str(missing))
    assert result.code == 2
    assert "cannot read the token file" in result.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("tokens: [{name: a, sha256: 123, environments: {dev: [read]}}]\n")
    result = run_qv(capsys, synced.root, "serve", "--env", "dev", "--tokens", str(bad))
    assert result.code == 2
    assert "64 lower-case hex digits" in result.err
