"""`qv serve` — an environment of the runtime store over HTTP (docs/serve.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("serve")
def serve_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment to serve."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    tokens: Path | None = typer.Option(
        None, "--tokens", help="Token file (hashed tokens per environment); none: loopback only."
    ),
    certfile: Path | None = typer.Option(None, "--certfile", help="TLS certificate (PEM)."),
    keyfile: Path | None = typer.Option(None, "--keyfile", help="TLS private key (PEM)."),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="JSON access lines on stderr."
    ),
    add_token: str | None = typer.Option(
        None, "--add-token", help="Add a token NAME for --env to --tokens, print it, and exit."
    ),
    secrets_read: bool = typer.Option(
        False, "--secrets-read", help="With --add-token: the token may read secret values."
    ),
) -> None:
    """Serve ENV read-only: documents, Unleash's client API, OFREP, /healthz, /metrics."""
    from qv_config.errors import UsageError
    from qv_config.names import check_env
    from qv_config.serve import tokens as tokenfile

    check_env(env)
    if add_token is not None:
        if tokens is None:
            raise UsageError("--add-token needs --tokens FILE", hint="name the token file")
        typer.echo(tokenfile.add(tokens, add_token, [env], secrets_read))
        return
    _serve(env, store, host, port, tokens, certfile, keyfile, access_log)


def _serve(
    env: str,
    store: str | None,
    host: str,
    port: int,
    tokens: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    access_log: bool,
) -> None:
    from prometheus_client import CollectorRegistry

    from qv_config.client import ConfigClient
    from qv_config.repo import find_root
    from qv_config.serve import Settings, create_app
    from qv_config.serve import tokens as tokenfile
    from qv_config.serve.masking import SecretMarks
    from qv_config.serve.run import Listen, check_listen, serve
    from qv_config.store.source import store_url_for

    listen = Listen(host, port, certfile, keyfile)
    granted = tokenfile.load(tokens, env) if tokens else tokenfile.NO_TOKENS
    check_listen(listen, granted.configured)
    root = find_root(OPTIONS.start_dir())
    url = store_url_for(root, env, store)
    registry = CollectorRegistry()
    client = ConfigClient(url, env, root=root, registry=registry)
    settings = Settings(
        env, granted, SecretMarks(root, env), registry=registry, access_log=access_log
    )
    scheme = "https" if certfile else "http"
    who = "token holders" if granted.configured else "this machine only (no --tokens: loopback)"
    try:
        where = f"{scheme}://{host}:{port}"
        serve(create_app(client, settings), listen,
              f"qv serve: {env} at {client.revision[:12]} on {where} for {who}")  # fmt: skip
    finally:
        client.close()
