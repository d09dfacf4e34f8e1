"""Walking Git history cheaply: commit metadata and the *input key* of an environment per commit.

The effective configuration of environment E at a commit depends only on these trees:
``qv.yaml``, ``templates/``, the ``bases`` folders, ``environments/E/`` and ``schemas/``. Their
object ids, read for many commits through one ``git cat-file --batch-check`` process, form the
input key: equal keys mean equal effective configuration, so history walks render only commits
whose key changed (and a renderer cache can be keyed by it).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import GitError
from qv_config.repo import gitcmd
from qv_config.repo.gitcmd import UNSHALLOW as _UNSHALLOW

# Newline between fields, NUL between commits: neither can occur inside these fields (a header
# line of a commit object ends at a newline; %s joins the subject's lines), while anything else,
# \x1f included, can be in an author's name or a subject someone wrote.
_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%s")


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str  # ISO 8601 with offset
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


def git(
    root: Path, *args: str, input_text: str | None = None, errors: str = "surrogateescape"
) -> str:
    """Run git in ``root``; a failure becomes a ``GitError`` with git's own words. ``errors``
    as for ``bytes.decode`` (free text such as commit messages need not be UTF-8)."""
    data = gitcmd.output(root, *args, input=None if input_text is None else input_text.encode())
    return data.decode("utf-8", errors)


def first_parent_log(root: Path, rev: str, limit: int | None = None) -> list[CommitInfo]:
    """Commits from ``rev`` back along first parents, newest first."""
    args = ["log", "-z", "--first-parent", f"--format={'%n'.join(_FIELDS)}"]
    if limit is not None:
        args.append(f"-n{limit}")
    out = git(root, *args, rev, "--", errors="replace")
    commits = []
    for record in filter(None, out.split("\0")):
        sha, parents, author, email, date, subject = record.split("\n", 5)
        commits.append(CommitInfo(sha, tuple(parents.split()), author, email, date, subject))
    return commits


def input_paths(env: str, bases: Sequence[str]) -> tuple[str, ...]:
    return ("qv.yaml", "templates", *bases, f"environments/{env}", "schemas")


def outside(named: Iterable[str], paths: Sequence[str]) -> tuple[str, ...]:
    """Of the files ``named`` (service schemas a state read by ``metadata.schema``, which may
    name any file), those outside ``paths``, the input key's folders: what the key does not
    cover. A name Git cannot be asked about (a line break) is left out: the read rule refuses
    it, so the state is invalid whatever that file holds."""
    within = tuple(f"{p}/" for p in paths)
    found = {n for n in named if n and n not in paths and not n.startswith(within)}
    return tuple(sorted(n for n in found if "\n" not in n and "\0" not in n))


def input_keys(root: Path, revs: Sequence[str], paths: Sequence[str]) -> dict[str, str]:
    """rev -> key made of the object ids of ``paths`` at that rev (``-`` where a path is absent)."""
    if not revs:
        return {}
    # "./" makes the path relative to the project folder, which may sit inside the repository;
    # a bare repository (the agent's mirror, where the approvals core renders too) has no work
    # tree to be relative to, and its project is at the top.
    here = "" if is_bare(root) else "./"
    queries = [f"{rev}:{here}{path}" for rev in revs for path in paths]
    out = git(root, "cat-file", "--batch-check=%(objectname)", input_text="\n".join(queries) + "\n")
    ids = [line.split()[0] if not line.endswith("missing") else "-" for line in out.splitlines()]
    width = len(paths)
    return {rev: ",".join(ids[i * width : (i + 1) * width]) for i, rev in enumerate(revs)}


@dataclass(frozen=True)
class ChainKeys:
    """Input keys of one environment at many revisions, all over the same paths: the bases
    folders of every qv.yaml among them, so that equal keys mean equal inputs even across a
    commit that renamed or added a base folder (over the tip's bases alone, a change to a base
    folder renamed since would look like no change)."""

    keys: dict[str, str]  # rev -> key
    own: frozenset[str]  # revs whose qv.yaml names exactly these bases: the key is their own


def env_keys(
    root: Path, revs: Sequence[str], env: str, bases: Sequence[str], extra: Sequence[str] = ()
) -> ChainKeys:
    """``ChainKeys`` of ``env`` at ``revs``, over ``bases`` (the tip's) and any others named,
    and the ``extra`` files (schema files outside those folders a state was checked against)."""
    keys = input_keys(root, revs, [*input_paths(env, bases), *extra])
    named = _named_bases(root, {key.split(",", 1)[0] for key in keys.values()})
    more = sorted({base for found in named.values() for base in found} - set(bases))
    if more:
        bases = (*bases, *more)
        keys = input_keys(root, revs, [*input_paths(env, bases), *extra])
    exact = {blob for blob, found in named.items() if found == tuple(bases)}
    return ChainKeys(keys, frozenset(r for r, key in keys.items() if key.split(",")[0] in exact))


def _named_bases(root: Path, blobs: set[str]) -> dict[str, tuple[str, ...]]:
    """qv.yaml blob id -> the bases folders it names (read once per distinct blob)."""
    from qv_config.repo.manifest import bases_of

    found = gitcmd.read_objects(root, sorted(blobs - {"-"}))
    return {blob: bases_of(raw) for blob, raw in found.items() if raw is not None}


@functools.cache
def is_bare(root: Path) -> bool:
    return gitcmd.run(root, "rev-parse", "--is-bare-repository").text.strip() == "true"


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    """True when ``older`` is an ancestor of (or equal to) ``newer``."""
    done = gitcmd.run(root, "merge-base", "--is-ancestor", older, newer)
    if done.returncode > 1:
        raise gitcmd.error(f"cannot compare {older[:10]} and {newer[:10]}", done, _UNSHALLOW)
    return done.ok


def default_base(root: Path) -> str:
    """The merge-base of HEAD with the main branch (``origin/main`` preferred, then ``main``)."""
    for candidate in ("origin/main", "main", "origin/master", "master"):
        done = gitcmd.run(root, "merge-base", "HEAD", candidate)
        if done.ok and done.text.strip():
            return done.text.strip()
    raise GitError(
        "cannot find the merge-base of HEAD with main",
        hint="pass --base REV, or fetch the main branch (git fetch origin main; in a shallow "
        "clone: git fetch --unshallow)",
    )


# ---------------------------------------------------------------- changed files and blobs


def _run_bytes(root: Path, *args: str) -> bytes:
    return gitcmd.output(root, *args)


def changed_paths(root: Path, old: str, new: str | None, paths: Sequence[str] = ()) -> set[str]:
    """Project-relative paths that differ between commit ``old`` and commit ``new`` (None: the
    work tree under ``paths``, with every file qv would read that Git does not compare: untracked
    and ignored ones, and those ``hidden``). Both commits must be resolved shas."""
    if new is not None:
        out = _run_bytes(
            root,
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            "--name-only",
            "--relative",
            old,
            new,
            "--",
        )
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}
    tracked = _run_bytes(root, "diff", "-z", "--no-renames", "--name-only", "--relative", old, "--")
    # Ignored files too: qv walks its folders and reads them (a ``*.local.yaml`` is loaded).
    others = _run_bytes(root, "ls-files", "-z", "--others", "--", *paths) if paths else b""
    text = (tracked + b"\0" + others).decode("utf-8", "surrogateescape")
    return {p for p in text.split("\0") if p} | hidden(root, paths)


def has_links(root: Path, rev: str | None, paths: Sequence[str], changed: set[str]) -> bool:
    """Whether a symbolic link lies under ``paths`` at commit ``rev`` (None: the work tree,
    whose tracked links are in the index and whose other ones are among ``changed``)."""
    if rev is not None:
        out = _run_bytes(root, "ls-tree", "-r", "-z", rev, "--", *paths)
    else:
        out = _run_bytes(root, "ls-files", "-s", "-z", "--", *paths)
        if any(os.path.islink(os.path.join(root, path)) for path in changed):
            return True
    return any(entry.startswith(b"120000 ") for entry in out.split(b"\0"))


def is_git(root: Path) -> bool:
    return gitcmd.run(root, "rev-parse", "--is-inside-work-tree").ok


def worktree_clean(root: Path, paths: Sequence[str]) -> bool:
    """True when every file qv reads under ``paths`` in the work tree is HEAD's, byte for byte:
    then the work tree's effective configuration is HEAD's, and HEAD's input key stands for it.
    ``git status`` alone cannot say so: it leaves out ignored files (qv reads them) and trusts
    the index flags that hide edits (``hidden``)."""
    args = ("--porcelain", "-z", "--untracked-files=all", "--ignored=traditional")
    out = _run_bytes(root, "status", *args, "--", *paths)
    return not out.strip(b"\0") and not hidden(root, paths)


# Attributes under which the bytes in the work tree are not the blob's, while Git compares them
# equal (a clean filter such as git-crypt's or LFS's, $Id$ expansion, a re-encoding). Line-end
# conversion (text, eol) is not among them: YAML and JSON read CRLF as LF, so what qv loads
# is the same.
_CONVERTING = ("filter", "ident", "working-tree-encoding")


def hidden(root: Path, paths: Sequence[str]) -> set[str]:
    """Tracked files under ``paths`` whose work-tree bytes Git may call HEAD's when they are
    not: flagged ``--assume-unchanged`` (a lowercase tag of ``ls-files -v``) or
    ``--skip-worktree`` (S), or read through a converting attribute (``_CONVERTING``)."""
    if not paths:
        return set()
    listed = _run_bytes(root, "ls-files", "-v", "-z", "--", *paths)
    entries = [e.decode("utf-8", "surrogateescape") for e in listed.split(b"\0") if e]
    found = {e[2:] for e in entries if e[0].islower() or e[0] == "S"}
    files = "\0".join(e[2:] for e in entries)
    if not files:
        return found
    attrs = git(root, "check-attr", "-z", "--stdin", *_CONVERTING, input_text=files + "\0")
    fields = attrs.split("\0")
    for path, value in zip(fields[0::3], fields[2::3], strict=False):
        if value not in ("unspecified", "unset"):
            found.add(path)
    return found


def grep_files(
    root: Path, rev: str | None, needles: Sequence[str], paths: Sequence[str]
) -> set[str]:
    """Project-relative files under ``paths`` (at commit ``rev``, or in the work tree with
    untracked and ignored files) whose text contains any of ``needles`` literally."""
    if not needles:
        return set()
    args = ["grep", "-l", "-z", "-F", "--no-color", *(f"-e{n}" for n in needles)]
    # In the work tree, ignored files too: qv reads them.
    args += [rev, "--", *paths] if rev else ["--untracked", "--no-exclude-standard", "--", *paths]
    done = gitcmd.run(root, *args)
    if done.returncode not in (0, 1):  # 1: nothing matched
        raise gitcmd.error("git grep failed", done)
    prefix = f"{rev}:" if rev else ""
    text = done.text
    return {p[len(prefix) :] for p in text.split("\0") if p}
