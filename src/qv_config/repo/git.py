"""Reading a repository state from a Git revision, never touching the work tree or the index.

``git ls-tree -z`` lists the files (the blob sha is the content hash, so the parse cache works
across revisions for free) and one long-running ``git cat-file --batch`` process reads every
blob: one process per snapshot, not one per file. The rule of ``repo.files`` (links, names)
applies as in the work tree: symlinks are resolved by their text against the commit's trees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qv_config.errors import GitError
from qv_config.repo import files, gitcmd
from qv_config.repo.files import Kind, Refused
from qv_config.repo.gitcmd import UNSHALLOW as _UNSHALLOW
from qv_config.repo.source import strict_read, tops

_FILE_MODES = ("100644", "100755")


@dataclass
class GitSource:
    """The files of commit ``rev`` of the repository holding ``root`` (the project directory).
    ``batch``: a ``cat-file`` reader to share (a command reading several revisions needs one)."""

    root: Path
    rev: str
    batch: gitcmd.Batch | None = field(default=None, repr=False)
    label: str = field(init=False)
    revision: str | None = field(init=False)
    problems: dict[str, Refused] = field(init=False, repr=False, default_factory=dict)
    _prefix: str = field(init=False, repr=False)
    _blobs: dict[str, str] = field(init=False, repr=False, default_factory=dict)
    _trees: dict[str, dict[str, tuple[str, str]]] = field(
        init=False, repr=False, default_factory=dict
    )
    _own_batch: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self._prefix, sha = _resolve(self.root, self.rev)
        self.revision = sha
        self.label = f"{self.rev} ({sha[:12]})"

    def list_files(self, bases: list[str]) -> dict[str, str]:
        return self.list_paths(tops(bases))

    def list_paths(self, paths: Iterable[str]) -> dict[str, str]:
        """The files at or under ``paths`` (files or folders) -> blob id, by the rule."""
        out: dict[str, str] = {}
        folders = []
        for top in paths:
            found = self._locate(top)
            if found is not None and found[0] == "dir":
                folders.append(top)
            elif found is not None and found[0] == "file":
                out[top] = self._entry(found[1])[1]
        if folders:
            self._list_folders(folders, out)
        self._blobs.update(out)
        return out

    def _list_folders(self, folders: list[str], out: dict[str, str]) -> None:
        prefix = self._prefix
        done = gitcmd.run(
            self.root,
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            self._sha(),
            "--",
            *(prefix + top for top in folders),
        )
        if not done.ok:
            raise gitcmd.error(f"cannot list the files of {self.label}", done)
        hidden, bad_name = files.hidden, files.bad_name  # once, not per entry (50,000)
        for mode, sha, path in _parse_ls_tree(done.stdout, prefix):
            if hidden(path):
                continue
            bad = bad_name(path)
            if bad is not None:
                self.problems.setdefault(bad.path, bad)
            elif mode in _FILE_MODES:
                out[path] = sha
            elif mode == "120000" and (found := self._locate(path)) is not None:
                out[path] = self._entry(found[1])[1]

    def _locate(self, path: str) -> tuple[Kind, str] | None:
        return files.checked(path, self._lookup, self.problems)

    def _lookup(self, path: str) -> tuple[Kind, str]:
        mode, oid = self._entry(path)
        if mode == "040000":
            return "dir", ""
        if mode == "120000":
            target = self._reader().read(oid)
            return "link", (target or b"").decode("utf-8", "surrogateescape")
        if mode in _FILE_MODES:
            return "file", ""
        return ("missing" if not mode else "other"), ""

    def _entry(self, path: str) -> tuple[str, str]:
        """(mode, object id) of ``path`` in the commit's trees; ("", "") when absent."""
        folder, _, name = path.rpartition("/")
        if folder not in self._trees:
            # "<sha>:" is the root tree; "<sha>:sub" a folder (no trailing slash)
            found = self._reader().read_object(f"{self._sha()}:{self._prefix}{folder}".rstrip("/"))
            entries = {}
            if found is not None and found[0] == "tree":
                entries = gitcmd.tree_entries(found[1], len(self._sha()) // 2)
            self._trees[folder] = entries
        return self._trees[folder].get(name, ("", ""))

    def read(self, path: str) -> bytes | None:
        blob = self._blobs.get(path)
        if blob is None:
            if not files.readable_name(path):
                return None
            found = self._locate(path)
            if found is None or found[0] != "file":
                return None
            blob = self._entry(found[1])[1]
        data = self._reader().read(blob)
        if data is None:
            raise GitError(f"object {blob} of {path} at {self.label} is missing", hint=_UNSHALLOW)
        return data

    def read_many(self, paths: Sequence[str], apart: bool = False) -> dict[str, bytes]:
        """The bytes of listed ``paths``, asked of Git all at once (a path not listed, or whose
        blob is missing, is left out: ``read`` says why). ``apart``: through a ``cat-file``
        process of its own (a forked worker must not share its parent's)."""
        blobs = {path: blob for path in paths if (blob := self._blobs.get(path))}
        reader = gitcmd.Batch(self.root) if apart else self._reader()
        try:
            found = reader.read_many(list(blobs.values()))
        finally:
            if apart:
                reader.close()
        return {path: data for path, blob in blobs.items() if (data := found[blob]) is not None}

    def read_strict(self, path: str) -> bytes | None:
        """``read``, but a file the rule refuses raises ``RefusedFile`` instead of None."""
        return strict_read(self, path)

    def _reader(self) -> gitcmd.Batch:
        if self.batch is None:
            self.batch, self._own_batch = gitcmd.Batch(self.root), True
        return self.batch

    def close(self) -> None:
        if self.batch is not None and self._own_batch:
            self.batch.close()

    def _sha(self) -> str:
        assert self.revision is not None  # set in __post_init__
        return self.revision


def _parse_ls_tree(out: bytes, prefix: str) -> list[tuple[str, str, str]]:
    """(mode, object id, project-relative path) of each blob listed (submodules left out).

    Decoded at once, not entry by entry (~30 % of the parse of 50,000 entries): the fields
    besides the path are ASCII, and so are the separators, so each path decodes as it would
    alone (surrogateescape maps each byte of an invalid sequence by itself)."""
    cut = len(prefix)
    found: list[tuple[str, str, str]] = []
    add = found.append
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, kind, sha = meta.split()
        if kind == "blob":
            add((mode, sha, path[cut:]))
    return found


def _resolve(root: Path, rev: str) -> tuple[str, str]:
    """The project's folder inside the Git repository ("" at the top, else "sub/dir/") and the
    commit of ``rev``, asked of one git process (a history walk makes a source per commit)."""
    if rev.startswith("-"):
        raise GitError(f"unknown revision {rev!r}", hint=_list_hint())
    commit = f"{rev}^{{commit}}"
    done = gitcmd.run(root, "rev-parse", "--show-prefix", "--verify", "--quiet", commit)
    lines = done.text.split("\n")
    if done.ok and len(lines) >= 2:
        return lines[0], lines[1].strip()
    # 1: the revision is unknown; 128 with git's "not a git repository": no repository here
    # (a revision git cannot parse, such as HEAD:../x, is 128 too, and unknown).
    if done.returncode != 1 and "not a git repository" in done.last_error().lower():
        raise gitcmd.error(
            f"{root} is not inside a Git repository",
            done,
            hint="--rev needs a Git repository; run git init or drop --rev",
        )
    shallow = gitcmd.run(root, "rev-parse", "--is-shallow-repository").text.strip()
    if shallow == "true":
        raise GitError(f"unknown revision {rev!r} in a shallow clone", hint=_UNSHALLOW)
    raise GitError(f"unknown revision {rev!r}", hint=_list_hint())


def _list_hint() -> str:
    return "list revisions with `git log --oneline`, `git branch -a` or `git tag`"


__all__ = ["GitSource"]
