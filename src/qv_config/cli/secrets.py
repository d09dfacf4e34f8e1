"""`qv secrets encrypt | decrypt | edit | rotate | keygen | check` — thin wrappers over
qv_config.secrets.

Registered in ``cli/app.py:_register`` with
``app.add_typer(secrets_app, name="secrets")``. Only ``decrypt`` ever prints a secret value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

secrets_app = typer.Typer(
    name="secrets",
    help="Encrypt, decrypt, edit and rotate SOPS-encrypted secret fields (age keys).",
    no_args_is_help=True,
    add_completion=False,
)

_KEY_FILE = typer.Option(
    None,
    "--key-file",
    "-k",
    envvar="SOPS_AGE_KEY_FILE",
    help="age key file (default: SOPS_AGE_KEY_FILE, then ~/.config/sops/age/keys.txt).",
)


def _at(path: Path) -> Path:
    """A file argument as every command reads it: relative to ``-C DIR`` when given (as git
    does), else to the current folder."""
    from qv_config.cli.state import OPTIONS

    return path if path.is_absolute() else OPTIONS.start_dir() / path


def _say(text: str) -> None:
    """A note on standard error; it names files and recipients, so escaped, never markup."""
    from qv_config.cli.output import console
    from qv_config.safetext import escape

    console(stderr=True).print(escape(text), markup=False)


@secrets_app.command("encrypt")
def encrypt(paths: list[Path] = typer.Argument(..., help="Files to encrypt in place.")) -> None:
    """Encrypt the secret fields (x-qv-secret) of each file in place, per .sops.yaml rules."""
    from qv_config.secrets import encrypt_file

    for path in paths:
        recipients = encrypt_file(_at(path))
        _say(f"encrypted {path} for {', '.join(sorted(recipients))}")


@secrets_app.command("decrypt")
def decrypt(
    path: Path = typer.Argument(..., help="File to decrypt."),
    in_place: bool = typer.Option(False, "--in-place", "-i", help="Write plaintext back."),
    key_file: Path | None = _KEY_FILE,
) -> None:
    """Print the decrypted file to stdout (or write it back with --in-place)."""
    from qv_config.secrets import decrypt_file

    plain = decrypt_file(_at(path), key_file, in_place=in_place)
    if in_place:
        _say(f"decrypted {path} in place — do not commit it in this state")
        return
    sys.stdout.buffer.write(plain)
    sys.stdout.flush()


@secrets_app.command("edit")
def edit(
    path: Path = typer.Argument(..., help="File to edit."), key_file: Path | None = _KEY_FILE
) -> None:
    """Open the decrypted file in $EDITOR through sops; it is re-encrypted on save."""
    import os

    from qv_config.secrets import edit_file

    edit_file(_at(path), key_file, editor=os.environ.get("SOPS_EDITOR") or os.environ.get("EDITOR"))


@secrets_app.command("rotate")
def rotate(
    paths: list[Path] = typer.Argument(..., help="Files to re-encrypt."),
    key_file: Path | None = _KEY_FILE,
) -> None:
    """Re-encrypt to the recipients .sops.yaml names now, with a fresh data key."""
    from qv_config.secrets import rotate_file

    for path in paths:
        recipients = rotate_file(_at(path), key_file)
        _say(f"rotated {path}: data key renewed, recipients {', '.join(sorted(recipients))}")


@secrets_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", "-o", help="Key file to create (mode 600)."),
    comment: str = typer.Option("", help="A comment line written above the key."),
) -> None:
    """Generate an age key file; prints its public recipient (age1…)."""
    from qv_config.errors import UsageError
    from qv_config.secrets import generate_identity, key_file_text

    if out.exists():
        raise UsageError(
            f"{out} already exists", hint="choose another path; keys are never overwritten"
        )
    identity = generate_identity()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.write_text(key_file_text(identity, f"# {comment}" if comment else ""), encoding="utf-8")
    typer.echo(identity.recipient)


@secrets_app.command("check")
def check(
    paths: list[str] = typer.Argument(
        None,
        help="Check only files under these paths (default: the whole tree).",
        show_default=False,
    ),
    output_format: str = typer.Option(
        "text", "--format", "-f", help="Output format: text, json, github or sarif."
    ),
) -> None:
    """Find secrets about to leak (exit 1): plaintext in x-qv-secret fields (QV601), at keys a
    .sops.yaml rule encrypts (QV607), and the other secrets findings (QV602-QV606)."""
    from qv_config import report
    from qv_config.cli.output import write
    from qv_config.cli.state import OPTIONS
    from qv_config.cli.validating import _color, _repo_paths
    from qv_config.repo import find_root
    from qv_config.secrets.leaks import leak_check

    reporter = report.get(output_format)
    start = OPTIONS.start_dir()
    root = find_root(start)
    result, read = leak_check(root, _repo_paths(root, start.resolve(), list(paths or [])))
    write(reporter(result, read=read, color=_color() and output_format == "text"))
    if not result.ok:
        raise typer.Exit(1)
