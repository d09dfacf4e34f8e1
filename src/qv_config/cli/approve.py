"""``qv approve`` — sign the change of an environment and store it under refs/qv/approvals/."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("approve")
def approve_command(
    envs: list[str] = typer.Option(..., "--env", "-e", help="Environment (repeatable)."),
    rev: str = typer.Option("HEAD", "--rev", help="The revision to approve."),
    base: str | None = typer.Option(
        None, "--base", help="Base revision (default: the deployed one, else the merge-base)."
    ),
    key: Path | None = typer.Option(
        None, "--key", help="SSH private key (default: git config user.signingkey)."
    ),
    identity: str | None = typer.Option(
        None, "--as", help="Your principal (default: the one allowed_signers lists for the key)."
    ),
    push: bool = typer.Option(False, "--push", help="Push the approval refs to the remote."),
    remote: str = typer.Option("origin", "--remote", help="Remote for --push."),
    store: str | None = typer.Option(None, "--store", help="Store that says what is deployed."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
) -> None:
    """Sign {env, base/target/changes/policy digests, approver, time} with your SSH key."""
    import json
    from dataclasses import asdict

    from qv_config.approvals import refs
    from qv_config.approvals.run import sign_all
    from qv_config.cli.output import console, write
    from qv_config.errors import UsageError
    from qv_config.names import check_env
    from qv_config.repo import find_root
    from qv_config.safetext import safe

    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="choose text or json")
    names = [check_env(env) for env in envs]
    root = find_root(OPTIONS.start_dir())
    signed = sign_all(root, names, base, rev, key or _signing_key(root), identity, store)
    if push:
        for one in signed:
            refs.push(root, remote, one.ref)
    if fmt == "json":
        write(json.dumps([asdict(one) for one in signed], indent=2))
        return
    for one in signed:
        console().print(
            f"approved {one.env} {one.target_digest[:12]} as {safe(one.approver)} "
            f"({one.fingerprint}): {one.ref}" + (f" (pushed to {safe(remote)})" if push else ""),
            markup=False,
            highlight=False,
        )


def _signing_key(root: Path) -> Path:
    from qv_config.errors import UsageError
    from qv_config.repo import gitcmd

    done = gitcmd.run(root, "config", "user.signingkey")
    if done.ok and done.text.strip():
        return Path(done.text.strip()).expanduser()
    raise UsageError("no key to sign with", hint="pass --key PATH (an SSH private key)")
