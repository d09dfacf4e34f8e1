"""Walking Git history cheaply: commit metadata and the *input key* of an environment per commit.

The effective configuration of environment E at a commit depends only on these trees:
``qv.yaml``, ``templates/``, the ``bases`` folders, ``environments/E/`` and ``schemas/``. Their
object ids, read for many commits through one ``git cat-file --batch-check`` process, form the
input key: equal keys mean equal effective configuration, so history walks render only commits
whose key changed (and a renderer cache can be keyed by it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import GitError

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


def git(root: Path, *args: str, input_text: str | None = None, errors: str = "strict") -> str:
    """Run git in ``root``; a failure becomes a ``GitError`` with git's own words. ``errors``
    as for ``bytes.decode`` (free text such as commit messages need not be UTF-8)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=root,
        input=input_text,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors=errors,
        check=False,
    )
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


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


def input_keys(root: Path, revs: Sequence[str], paths: Sequence[str]) -> dict[str, str]:
    """rev -> key made of the object ids of ``paths`` at that rev (``-`` where a path is absent)."""
    if not revs:
        return {}
    # "./" makes the path relative to the project folder, which may sit inside the repository.
    queries = [f"{rev}:./{path}" for rev in revs for path in paths]
    out = git(root, "cat-file", "--batch-check=%(objectname)", input_text="\n".join(queries) + "\n")
    ids = [line.split()[0] if not line.endswith("missing") else "-" for line in out.splitlines()]
    width = len(paths)
    return {rev: ",".join(ids[i * width : (i + 1) * width]) for i, rev in enumerate(revs)}


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    """True when ``older`` is an ancestor of (or equal to) ``newer``."""
    proc = subprocess.run(
        ["git", "merge-base", "--is-ancestor", older, newer],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode > 1:
        raise GitError(
            f"cannot compare {older[:10]} and {newer[:10]}: {proc.stderr.decode().strip()}",
            hint="fetch more history: git fetch --unshallow",
        )
    return proc.returncode == 0


def default_base(root: Path) -> str:
    """The merge-base of HEAD with the main branch (``origin/main`` preferred, then ``main``)."""
    for candidate in ("origin/main", "main", "origin/master", "master"):
        proc = subprocess.run(
            ["git", "merge-base", "HEAD", candidate],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    raise GitError(
        "cannot find the merge-base of HEAD with main",
        hint="pass --base REV, or fetch the main branch (git fetch origin main; in a shallow "
        "clone: git fetch --unshallow)",
    )


# ---------------------------------------------------------------- changed files and blobs


def _git_env() -> dict[str, str]:
    # Reading must never write: no optional index refresh or locks, no prompts.
    import os

    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _run_bytes(root: Path, *args: str) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, env=_git_env(), check=False
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        last = detail[-1] if detail else str(proc.returncode)
        hint = _UNSHALLOW if ("shallow" in last or "bad object" in last) else None
        raise GitError(f"git {args[0]} failed: {last}", hint=hint)
    return proc.stdout


_UNSHALLOW = "fetch more history: git fetch --unshallow (or git fetch --deepen=N)"


def changed_paths(root: Path, old: str, new: str | None) -> set[str]:
    """Project-relative paths that differ between commit ``old`` and commit ``new`` (None: the
    work tree, untracked files included). Both commits must be resolved shas."""
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
    untracked = _run_bytes(root, "ls-files", "-z", "--others", "--exclude-standard")
    text = (tracked + b"\0" + untracked).decode("utf-8", "surrogateescape")
    return {p for p in text.split("\0") if p}


def ls_blobs(root: Path, rev: str, paths: Sequence[str]) -> dict[str, str]:
    """Project-relative path -> blob id at ``rev`` for the files under ``paths`` (absent: left
    out). Symlinks and submodules are not configuration and are skipped."""
    if not paths:
        return {}
    out = _run_bytes(root, "ls-tree", "-r", "-z", rev, "--", *paths)
    blobs: dict[str, str] = {}
    for entry in out.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        if not raw:
            continue
        mode, kind, sha = meta.decode().split()
        if kind == "blob" and mode != "120000":
            blobs[raw.decode("utf-8", "surrogateescape")] = sha
    return blobs


def is_git(root: Path) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=root,
        capture_output=True,
        env=_git_env(),
        check=False,
    )
    return proc.returncode == 0


class BlobReader:
    """One ``git cat-file --batch`` process for every blob a command reads, whatever the commit
    (``qv log`` reads a few files of many commits; a process per commit would dominate)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, blob: str) -> bytes | None:
        proc = self._start()
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(blob.encode() + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline()
        if not header or header.endswith((b" missing\n", b" ambiguous\n")):
            return None
        data = proc.stdout.read(int(header.split()[2]))
        proc.stdout.read(1)  # the LF after each object
        return data

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self._root,
                env=_git_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None


def worktree_clean(root: Path, paths: Sequence[str]) -> bool:
    """True when nothing under ``paths`` differs from HEAD in the work tree (untracked included):
    then the work tree's effective configuration is HEAD's, and HEAD's input key stands for it."""
    out = _run_bytes(root, "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths)
    return not out.strip(b"\0")


def grep_files(
    root: Path, rev: str | None, needles: Sequence[str], paths: Sequence[str]
) -> set[str]:
    """Project-relative files under ``paths`` (at commit ``rev``, or in the work tree with
    untracked files) whose text contains any of ``needles`` literally."""
    if not needles:
        return set()
    args = ["grep", "-l", "-z", "-F", "--no-color", *(f"-e{n}" for n in needles)]
    args += [rev, "--", *paths] if rev else ["--untracked", "--", *paths]
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, env=_git_env(), check=False
    )
    if proc.returncode not in (0, 1):  # 1: nothing matched
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git grep failed: {detail[-1] if detail else proc.returncode}")
    prefix = f"{rev}:" if rev else ""
    text = proc.stdout.decode("utf-8", "surrogateescape")
    return {p[len(prefix) :] for p in text.split("\0") if p}
