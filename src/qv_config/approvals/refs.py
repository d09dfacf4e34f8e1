"""Approvals as Git refs: ``refs/qv/approvals/<env>/<target_digest>/<key>`` -> blob.

A ref per (environment, target digest, signing key): an approver who signs again for the same
target replaces their own approval. They travel with ``git push/fetch`` of the refspec
``+refs/qv/approvals/*:refs/qv/approvals/*`` (docs/approvals.md). Everything here runs git
through ``repo.gitcmd``; whatever the refs hold is only read, bounded, never trusted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from qv_config.approvals.statement import MAX_BLOB
from qv_config.repo import gitcmd

PREFIX = "refs/qv/approvals"
REFSPEC = f"+{PREFIX}/*:{PREFIX}/*"
MAX_REFS = 1000  # refs read for one target: more is garbage, and the rest are named as skipped


@dataclass(frozen=True, slots=True)
class Found:
    """One ref under a target's folder: its blob's bytes, or why it was not read."""

    ref: str
    data: bytes | None
    problem: str = ""


def target_prefix(env: str, target_digest: str) -> str:
    return f"{PREFIX}/{env}/{target_digest}/"


def ref_name(env: str, target_digest: str, key_blob: bytes) -> str:
    return target_prefix(env, target_digest) + hashlib.sha256(key_blob).hexdigest()


def write(root: Path, ref: str, data: bytes) -> str:
    """Store ``data`` as a blob and point ``ref`` at it; returns the blob id."""
    out = gitcmd.output(
        root, "hash-object", "-w", "--stdin", input=data, what="git could not store the approval"
    )
    blob = out.decode("ascii").strip()
    gitcmd.output(root, "update-ref", ref, blob, what=f"git could not write {ref}")
    return blob


def push(root: Path, remote: str, ref: str) -> None:
    gitcmd.output(
        root,
        "push",
        remote,
        f"+{ref}:{ref}",
        timeout=120,
        what=f"git could not push {ref} to {remote}",
    )


def listed(root: Path, env: str, target_digest: str) -> list[Found]:
    """Every ref under the target's folder, with its blob when it is a small blob."""
    out = gitcmd.text(
        root,
        "for-each-ref",
        "--format=%(refname)%00%(objectname)%00%(objecttype)%00%(objectsize)",
        target_prefix(env, target_digest),
    )
    found: list[Found] = []
    wanted: dict[str, str] = {}
    for line in out.splitlines()[:MAX_REFS]:
        parts = line.split("\0")
        if len(parts) != 4:
            continue
        ref, oid, kind, size = parts
        problem = _problem(kind, size)
        if problem:
            found.append(Found(ref, None, problem))
        else:
            wanted[ref] = oid
    found += _read(root, wanted)
    return sorted(found, key=lambda f: f.ref)


def _problem(kind: str, size: str) -> str:
    if kind != "blob":
        return f"points at a {kind}, not a blob"
    if not size.isdigit() or int(size) > MAX_BLOB:
        return f"blob of {size} bytes is larger than any approval ({MAX_BLOB})"
    return ""


def _read(root: Path, wanted: dict[str, str]) -> list[Found]:
    if not wanted:
        return []
    batch = gitcmd.Batch(root)
    try:
        data = batch.read_many(list(wanted.values()))
    finally:
        batch.close()
    return [
        Found(ref, data[oid]) if data[oid] is not None else Found(ref, None, "object missing")
        for ref, oid in wanted.items()
    ]
