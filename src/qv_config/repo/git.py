"""Reading a repository state from a Git revision, never touching the work tree or the index.

``git ls-tree -z`` lists the files (the blob sha is the content hash, so the parse cache works
across revisions for free) and one long-running ``git cat-file --batch`` process reads every
blob: one process per snapshot, not one per file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qv_config.errors import GitError
from qv_config.repo import gitcmd
from qv_config.repo.gitcmd import UNSHALLOW as _UNSHALLOW
from qv_config.repo.source import _FIXED_DIRS


@dataclass
class GitSource:
    """The files of commit ``rev`` of the repository holding ``root`` (the project directory)."""

    root: Path
    rev: str
    label: str = field(init=False)
    revision: str | None = field(init=False)
    _prefix: str = field(init=False, repr=False)
    _blobs: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    _batch: gitcmd.Batch | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._prefix = _project_prefix(self.root)
        sha = _resolve(self.root, self.rev)
        self.revision = sha
        self.label = f"{self.rev} ({sha[:12]})"

    def list_files(self, bases: list[str]) -> dict[str, str]:
        tops = ["qv.yaml", *_FIXED_DIRS, *bases]
        done = gitcmd.run(
            self.root,
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            self._sha(),
            "--",
            *(self._prefix + top for top in tops),
        )
        if not done.ok:
            raise gitcmd.error(f"cannot list the files of {self.label}", done)
        self._blobs = dict(_parse_ls_tree(done.stdout, self._prefix))
        return dict(self._blobs)

    def read(self, path: str) -> bytes | None:
        if "\n" in path:  # cannot be asked through the line-based batch protocol
            return None
        if self._batch is None:
            self._batch = gitcmd.Batch(self.root)
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
    done = gitcmd.run(root, "rev-parse", "--show-prefix")
    if not done.ok:
        raise gitcmd.error(
            f"{root} is not inside a Git repository",
            done,
            hint="--rev needs a Git repository; run git init or drop --rev",
        )
    return done.text.strip()


def _resolve(root: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise GitError(f"unknown revision {rev!r}", hint=_list_hint())
    done = gitcmd.run(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.ok:
        return done.text.strip()
    shallow = gitcmd.run(root, "rev-parse", "--is-shallow-repository").text.strip()
    if shallow == "true":
        raise GitError(f"unknown revision {rev!r} in a shallow clone", hint=_UNSHALLOW)
    raise GitError(f"unknown revision {rev!r}", hint=_list_hint())


def _list_hint() -> str:
    return "list revisions with `git log --oneline`, `git branch -a` or `git tag`"


__all__ = ["GitSource"]
