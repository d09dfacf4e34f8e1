"""The agent's Git source: a bare mirror clone in a cache dir, fetched every cycle.

A mirror (``git clone --mirror``) copies every ref as is, so a force-push on the remote shows up
as a rewritten branch here too (the walk then refuses it), and the agent never has a work tree to
keep clean. The clone is made in a temporary directory and renamed into place, so an agent killed
mid-clone leaves nothing half-made behind.

Only a mirror this agent made is used (``agent.mirrormark``: a committed or copied one is moved
away and cloned again), and git always runs in it by ``--git-dir`` (``gitcmd.bare_repository``):
a damaged mirror inside a checkout is found damaged, never replaced by the checkout around it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from qv_config.agent import mirrormark
from qv_config.errors import GitError, UsageError
from qv_config.repo import gitcmd

_SCP = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@host:path, scp-like syntax
_TIMEOUT = 120  # seconds for one git network operation; an outage must not hang a cycle forever


def normalise_url(source: str) -> str:
    """A local path becomes absolute (so the cache key does not depend on the cwd)."""
    if "://" in source or _SCP.match(source):
        return source
    return str(Path(source).resolve())


def redact_url(url: str) -> str:
    """``url`` without the credentials a ``https://user:token@host/`` URL may carry: what logs,
    metrics and messages show (git itself redacts them in its own errors)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path}"


def default_cache_dir(source: str, base: Path) -> Path:
    digest = hashlib.sha256(normalise_url(source).encode()).hexdigest()[:16]
    return base / ".qv" / "agent" / digest


def _run(args: list[str], cwd: Path | None, what: str) -> str:
    return gitcmd.output(cwd, *args, timeout=_TIMEOUT, what=what).decode()


class GitMirror:
    """``url`` mirrored into ``path``; ``fetch()`` updates it; ``tip()`` reads a branch."""

    def __init__(self, url: str, path: Path) -> None:
        self.url = normalise_url(url)
        self.display = redact_url(self.url)  # for logs and messages: no credentials
        self.path = path
        gitcmd.bare_repository(path)

    def foreign(self) -> str | None:
        """Why the mirror in place is not one this agent made (None: it is, or there is none)."""
        if not os.path.lexists(self.path):
            return None
        return mirrormark.foreign(self.path, self.url)

    def fetch(self) -> None:
        """Clone on first use, then fetch (prune: a deleted or rewritten branch shows as such).
        Git never runs in a mirror this agent did not make (``discard`` it first)."""
        if not os.path.lexists(self.path):
            self._clone()
            return
        reason = self.foreign()
        if reason is not None:
            raise GitError(f"the Git mirror {self.path} was not made by this agent: {reason}")
        done = gitcmd.run(self.path, "fetch", "--prune", "--quiet", "origin", timeout=_TIMEOUT)
        if not done.ok:
            raise gitcmd.error(f"cannot fetch {self.display}", done)
        self._no_complaint(done)

    def _no_complaint(self, done: gitcmd.Done) -> None:
        """Git working around a damaged object store (a pack that does not match its index)
        still says so on stderr: the mirror is checked and cloned again (agent.faults)."""
        complaint = next((ln for ln in done.stderr.splitlines() if ln.startswith(b"error: ")), None)
        if complaint is not None:
            line = complaint.decode("utf-8", "replace").strip()
            raise GitError(f"the Git mirror {self.path} is damaged: {line}")

    def _clone(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=self.path.parent))
        try:
            _run(
                ["clone", "--mirror", "--quiet", self.url, str(tmp / "repo")],
                None,
                f"cannot clone {self.display}",
            )
            mirrormark.mark(tmp / "repo", self.path, self.url)
            os.replace(tmp / "repo", self.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def tip(self, branch: str) -> str:
        out = gitcmd.run(
            self.path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"
        )
        self._no_complaint(out)
        if not out.ok:
            damage = self.damage()  # a branch whose commit is gone: the mirror, not the user
            if damage is not None:
                raise GitError(f"the Git mirror {self.path} is damaged: {damage}")
            raise UsageError(
                f"branch {branch!r} does not exist in {self.display}",
                hint="pass the branch the environment deploys from with --branch",
            )
        return out.text.strip()

    def damage(self) -> str | None:
        """What ``git fsck`` finds wrong in the mirror (a truncated pack, missing objects, a
        garbage HEAD, a mirror this agent did not make), or None when it is sound or not cloned
        yet. Run after a failure only."""
        if not os.path.lexists(self.path):
            return None
        foreign = self.foreign()
        if foreign is not None:  # not ours: git must not run in it at all
            return f"not made by this agent: {foreign}"
        done = gitcmd.run(
            self.path, "fsck", "--connectivity-only", "--no-dangling", "--no-progress"
        )
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith((b"error", b"fatal"))]
        if done.ok and not errors:
            return None  # (a pack git works around still prints "error:" with exit 0)
        return errors[0].decode("utf-8", "replace").strip() if errors else done.last_error()

    def discard(self) -> None:
        """Move the mirror out of the way (renamed first, so a kill cannot leave half of it
        looking whole); the next ``fetch`` clones it again."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=".damaged-", dir=self.path.parent))
        os.replace(self.path, aside / "repo")
        shutil.rmtree(aside, ignore_errors=True)

    def has_commit(self, rev: str) -> bool:
        return gitcmd.run(self.path, "cat-file", "-e", f"{rev}^{{commit}}").ok

    def read_file(self, rev: str, path: str) -> bytes | None:
        """A file's bytes at ``rev``, or None when it does not exist there; a file the rule of
        ``repo.files`` refuses (a link out of the tree...) raises ``RefusedFile``."""
        from qv_config.repo.git import GitSource

        source = GitSource(self.path, rev)
        try:
            return source.read_strict(path)
        finally:
            source.close()
