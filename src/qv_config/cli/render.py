"""`qv render` — print the effective documents of one environment (SPEC §3)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.options import format_option

if TYPE_CHECKING:
    from qv_config.findings import Finding
    from qv_config.repo.types import Snapshot

_FORMATS = ("yaml", "json", "unleash")
_FORMAT = format_option("yaml", *_FORMATS)


@app.command("render")
def render_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment to render."),
    selectors: list[str] | None = typer.Argument(
        None, metavar="[SELECTOR]...", help="kind/name with shell globs, e.g. strategy/* ."
    ),
    fmt: str = _FORMAT,
    explain_field: str | None = typer.Option(
        None,
        "--explain",
        metavar="KIND/NAME:FIELD",
        help="Show every layer that set FIELD, e.g. strategy/momentum-eu:spec.limits.order_rate",
    ),
    rev: str | None = typer.Option(
        None, "--rev", help="Render a Git revision (work tree untouched)."
    ),
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Show secret values in plaintext (needs the age key)."
    ),
    key_file: Path | None = typer.Option(
        None,
        "--key-file",
        help="age key file for --decrypt (default: SOPS_AGE_KEY_FILE).",
    ),
) -> None:
    """Print the effective documents of an environment (inheritance, overlays, templates).

    Secret fields stay SOPS ciphertext unless --decrypt asks for their plaintext.
    """
    from qv_config.names import check_env, check_selectors

    _check_format(fmt)
    check_env(env)
    check_selectors(selectors or [])
    snapshot = _snapshot(rev)
    if decrypt:
        snapshot = _decrypted(snapshot, env, key_file)
    elif key_file is not None:
        from qv_config.errors import UsageError

        raise UsageError("--key-file is used only with --decrypt", hint="add --decrypt")
    if explain_field is not None:
        _explain(snapshot, env, explain_field, selectors or [])
        return
    if fmt == "unleash":
        _render_unleash(snapshot, env, selectors or [])
        return
    _render(snapshot, env, fmt, selectors or [], keep_values=not decrypt)


def _check_format(fmt: str) -> None:
    from qv_config.errors import UsageError

    if fmt not in _FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint="use yaml, json or unleash")


def _snapshot(rev: str | None) -> Snapshot:
    from qv_config.cli.state import OPTIONS
    from qv_config.repo import GitSource, WorkTreeSource, find_root, load_snapshot

    root = find_root(OPTIONS.start_dir())
    if rev is None:
        return load_snapshot(WorkTreeSource(root))
    return load_snapshot(GitSource(root, rev))


def _decrypted(snapshot: Snapshot, env: str, key_file: Path | None) -> Snapshot:
    # The encrypted snapshot was loaded first (parse cache holds ciphertext only); plaintext
    # exists in memory for this one command. ``--key-file`` is checked as every command checks it.
    from qv_config.cli.keys import using_key_file
    from qv_config.secrets.snapshot import decrypt_snapshot

    with using_key_file(key_file):
        if env not in snapshot.env_names:
            return snapshot  # rendering reports the unknown environment
        return decrypt_snapshot(snapshot, envs=[env])


def _render(
    snapshot: Snapshot, env: str, fmt: str, selectors: list[str], keep_values: bool
) -> None:
    from qv_config.cache.templates import TemplateValues
    from qv_config.cli.output import write
    from qv_config.errors import UsageError
    from qv_config.render.desired import load_problems
    from qv_config.render.engine import render_each
    from qv_config.render.output import json_member, to_json, yaml_document

    _fail_on_project(snapshot)
    broken = load_problems(snapshot, env)
    # Template values are kept across runs, never those rendered from decrypted secrets.
    project = snapshot.project_doc.digest if snapshot.project_doc else ""
    memo = TemplateValues(snapshot.root if keep_values else None, project)
    # Each document becomes text as it is rendered: 50,000 values are never held at once.
    as_text = json_member if fmt == "json" else yaml_document
    texts: dict[str, str] = {}
    try:
        found = render_each(
            snapshot, env, lambda key, doc: texts.update({key: as_text(doc)}), selectors, memo=memo
        )
        memo.save()
    except UsageError:
        # A selector matching nothing may name the very document that failed to load: its
        # finding is the answer (exit 1), not "matches no document".
        _fail_on(broken, env)
        raise
    _fail_on([*broken, *found], env)
    if fmt == "json":
        write(to_json(texts))
    else:
        write("---\n".join(texts[key] for key in sorted(texts)))


def _render_unleash(snapshot: Snapshot, env: str, selectors: list[str]) -> None:
    """Every flag of ``env`` as one client-features document any Unleash SDK bootstraps from."""
    import orjson

    from qv_config.cli.output import write
    from qv_config.errors import UsageError
    from qv_config.flags import source
    from qv_config.flags.unleash import UnknownSegment
    from qv_config.safetext import json_safe

    if selectors:
        raise UsageError(
            "--format unleash takes no selectors: it is the whole flag state", hint="drop them"
        )
    _fail_on_project(snapshot)
    flags, problems = source.rendered(snapshot, env)
    _fail_on(problems, env)
    try:
        document = flags.document()
    except UnknownSegment as err:
        hint = "declare it in spec.segments (qv validate: QV504)"
        raise UsageError(str(err), hint=hint) from None
    write(json_safe(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()) + "\n")


def _explain(snapshot: Snapshot, env: str, target: str, selectors: list[str]) -> None:
    from qv_config.cli.output import write
    from qv_config.errors import UsageError
    from qv_config.render import explain
    from qv_config.render.output import explanation_text

    _fail_on_project(snapshot)
    selector, sep, field = target.rpartition(":")
    if not sep:
        if len(selectors) != 1:
            raise UsageError(
                f"--explain {target!r} names no document",
                hint="write --explain kind/name:field, e.g. strategy/x:spec.limits",
            )
        selector, field = selectors[0], target
    write(explanation_text(explain(snapshot, env, selector, field)))


def _fail_on_project(snapshot: Snapshot) -> None:
    if snapshot.project_info is None:
        _fail_on(
            [f for f in snapshot.findings if f.file == "qv.yaml"] or list(snapshot.findings), None
        )


def _fail_on(findings: list[Finding], env: str | None) -> None:
    import sys

    from qv_config.errors import CheckFailed
    from qv_config.render.output import finding_line

    errors = [f for f in findings if f.is_error]
    if not errors:
        return
    for finding in sorted(errors, key=lambda f: f.sort_key()):
        sys.stderr.write(finding_line(finding) + "\n")
    where = f" of environment {env!r}" if env else ""
    raise CheckFailed(
        f"{len(errors)} problem(s) in the configuration{where}",
        hint="fix the lines above, then run qv render again",
    )
