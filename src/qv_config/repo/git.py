"""Reading a repository state from a Git revision, never touching the work tree or the index.

``git ls-tree -z`` lists the files (the blob sha is the content hash, so the parse cache works
across revisions for free) and one long-running ``git cat-file --batch`` process reads every
blob: one process per snapshot, not one per file.
"""

from __future__ import annotations

import os
import subprocess
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from qv_config.errors import GitError
from qv_config.repo.source import _FIXED_DIRS

_UNSHALLOW = "fetch more history: git fetch --unshallow"


def _env() -> dict[str, str]:
    # No prompts, no pager, no optional index refresh/locks: reading must never write.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, env=_env(), check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint="install git") from None
    except NotADirectoryError:
        raise GitError(f"{root} is not a directory") from None


class _Batch:
    """One ``git cat-file --batch`` process; requests are serialised by a lock."""

    def __init__(self, root: Path) -> None:
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=root,
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop, self._proc)

    def read(self, spec: str) -> bytes | None:
        with self._lock:
            stdin, stdout = self._pipes()
            stdin.write(spec.encode("utf-8") + b"\n")
            stdin.flush()
            header = stdout.readline()
            if not header or header.endswith(b" missing\n") or header.endswith(b" ambiguous\n"):
                return None
            size = int(header.split()[2])
            data = stdout.read(size)
            stdout.read(1)  # the LF after each object
            return data

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        stdin, stdout = self._proc.stdin, self._proc.stdout
        if stdin is None or stdout is None or self._proc.poll() is not None:
            raise GitError("git cat-file --batch stopped unexpectedly", hint="run again with -v")
        return stdin, stdout

    def close(self) -> None:
        self._finalizer()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class GitSource:
    """The files of commit ``rev`` of the repository holding ``root`` (the project directory)."""

    root: Path
    rev: str
    label: str = field(init=False)
    revision: str | None = field(init=False)
    _prefix: str = field(init=False, repr=False)
    _blobs: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    _batch: _Batch | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._prefix = _project_prefix(self.root)
        sha = _resolve(self.root, self.rev)
        self.revision = sha
        self.label = f"{self.rev} ({sha[:12]})"

    def list_files(self, bases: list[str]) -> dict[str, str]:
        tops = ["qv.yaml", *_FIXED_DIRS, *bases]
        done = _git(
            self.root,
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            self._sha(),
            "--",
            *(self._prefix + top for top in tops),
        )
        if done.returncode != 0:
            raise _git_error(f"cannot list the files of {self.label}", done.stderr)
        self._blobs = dict(_parse_ls_tree(done.stdout, self._prefix))
        return dict(self._blobs)

    def read(self, path: str) -> bytes | None:
        if "\n" in path:  # cannot be asked through the line-based batch protocol
            return None
        if self._batch is None:
            self._batch = _Batch(self.root)
        blob = self._blobs.get(path)
        data = self._batch.read(blob if blob else f"{self._sha()}:{self._prefix}{path}")
        if data is None and blob:
            raise GitError(f"object {blob} of {path} at {self.label} is missing", hint=_UNSHALLOW)
        return data

    def close(self) -> None:
        if self._batch is not None:
            self._batch.close()

    def _sha(self) -> str:
        assert self.revision is not None  # set in __post_init__
        return self.revision


def _parse_ls_tree(out: bytes, prefix: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind != "blob" or mode == "120000":  # skip submodules and symlinks
            continue
        path = raw_path.decode("utf-8", errors="surrogateescape")
        pairs.append((path[len(prefix) :], sha))
    return pairs


def _project_prefix(root: Path) -> str:
    """The project's folder inside the Git repository ("" at the top, else "sub/dir/")."""
    done = _git(root, "rev-parse", "--show-prefix")
    if done.returncode != 0:
        raise _git_error(
            f"{root} is not inside a Git repository",
            done.stderr,
            hint="--rev needs a Git repository; run git init or drop --rev",
        )
    return done.stdout.decode().strip()


def _resolve(root: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise GitError(f"unknown revision {rev!r}", hint=_list_hint())
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.returncode == 0:
        return done.stdout.decode().strip()
    shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.decode().strip()
    if shallow == "true":
        raise GitError(f"unknown revision {rev!r} in a shallow clone", hint=_UNSHALLOW)
    raise GitError(f"unknown revision {rev!r}", hint=_list_hint())


def _list_hint() -> str:
    return "list revisions with `git log --oneline`, `git branch -a` or `git tag`"


def _git_error(message: str, stderr: bytes, hint: str | None = None) -> GitError:
    detail = stderr.decode("utf-8", errors="replace").strip().splitlines()
    text = f"{message}: {detail[-1]}" if detail else message
    if "shallow" in text or "missing" in text:
        hint = hint or _UNSHALLOW
    return GitError(text, hint=hint)


__all__ = ["GitSource"]
