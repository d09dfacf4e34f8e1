"""The branch and commit of a promotion, made without touching the work tree or the branch
checked out: the edited files go to Git's object store, into a tree built in an index of its
own (``GIT_INDEX_FILE``), and one commit on top of the promoted commit. A refusal or failure
therefore leaves the repository as it was (at most unreferenced objects, which ``git gc``
drops). Every git process goes through ``repo.gitcmd``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from qv_config.errors import CheckFailed, UsageError
from qv_config.repo import gitcmd


def check_branch_name(root: Path, name: str) -> None:
    """A name Git takes for a branch (exit 2) that no branch has yet (exit 1)."""
    if not gitcmd.run(root, "check-ref-format", "--branch", name).ok or name.startswith("-"):
        raise UsageError(f"{name!r} cannot be a branch name", hint="see `git check-ref-format`")
    if gitcmd.run(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}").ok:
        raise CheckFailed(
            f"branch {name!r} exists already; nothing was written",
            hint="delete it (`git branch -D`) or name another with --branch",
        )


def commit_branch(
    root: Path, parent: str, texts: Mapping[str, str | None], message: str, branch: str
) -> str:
    """Commit ``texts`` (project-relative paths; None: removed) on top of ``parent`` as the new
    branch ``branch``; the commit's sha."""
    with tempfile.TemporaryDirectory(prefix="qv-promote-") as folder:
        index = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        gitcmd.output(root, "read-tree", parent, extra_env=index, what="git read-tree failed")
        blobs = _blobs(root, Path(folder), [t for t in texts.values() if t is not None])
        modes = _modes(root, parent, list(texts))
        # --index-info takes paths from the top of the repository, which may hold the project
        # in a folder of its own.
        prefix = gitcmd.text(root, "rev-parse", "--show-prefix").strip()
        rows = []
        for path, text in sorted(texts.items()):
            if text is None:
                rows.append(f"0 {'0' * 40}\t{prefix}{path}")  # removed from the index
            else:
                rows.append(f"{modes.get(path, '100644')} {blobs[text]}\t{prefix}{path}")
        listing = "".join(f"{row}\0" for row in rows).encode()
        gitcmd.output(root, "update-index", "-z", "--index-info", input=listing, extra_env=index,
                      what="git update-index failed")  # fmt: skip
        tree = _line(gitcmd.output(root, "write-tree", extra_env=index, what="git write-tree"))
    commit = _line(
        gitcmd.output(
            root,
            "commit-tree",
            tree,
            "-p",
            parent,
            "-F",
            "-",
            input=message.encode(),
            what="git commit-tree failed",
            hint="set user.name and user.email (`git config`)",
        )
    )
    # Created only if absent (the zero old value), so that a branch made meanwhile is not moved.
    gitcmd.output(root, "update-ref", f"refs/heads/{branch}", commit, "0" * 40,
                  what=f"could not create branch {branch}")  # fmt: skip
    return commit


def _blobs(root: Path, folder: Path, texts: list[str]) -> dict[str, str]:
    """Each text written to Git's object store, in one ``git hash-object``: text -> blob id."""
    unique = list(dict.fromkeys(texts))
    if not unique:
        return {}
    files = []
    for number, text in enumerate(unique):
        file = folder / f"{number}.blob"
        file.write_bytes(text.encode())
        files.append(str(file))
    listing = ("\n".join(files) + "\n").encode()
    out = gitcmd.output(root, "hash-object", "-w", "--no-filters", "--stdin-paths", input=listing,
                        what="git hash-object failed")  # fmt: skip
    return dict(zip(unique, out.decode().split(), strict=True))


def _modes(root: Path, rev: str, paths: list[str]) -> dict[str, str]:
    """The mode of each of ``paths`` at ``rev`` (an executable file stays executable)."""
    if not paths:
        return {}
    out = gitcmd.output(root, "ls-tree", "-z", rev, "--", *paths).decode("utf-8", "replace")
    modes = {}
    for entry in out.split("\0"):  # names relative to ``root``, as ``paths`` are
        meta, _, name = entry.partition("\t")
        if name:
            modes[name] = meta.split(" ", 1)[0]
    return modes


def checked_out_branch(root: Path) -> str | None:
    """The branch checked out; None when HEAD is detached."""
    done = gitcmd.run(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    name = done.text.strip() if done.ok else ""
    return name or None


def push_branch(root: Path, remote: str, branch: str) -> None:
    """Push ``branch`` to ``remote`` (a failure is exit 3 with git's reason)."""
    if remote.startswith("-"):
        raise UsageError(f"{remote!r} cannot be a remote name")
    gitcmd.output(
        root,
        "push",
        remote,
        f"refs/heads/{branch}:refs/heads/{branch}",
        what=f"could not push {branch} to {remote}",
        hint=f"the branch exists here; push it with `git push {remote} {branch}`",
    )


def _line(data: bytes) -> str:
    return data.decode().strip()
