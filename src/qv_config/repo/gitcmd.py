"""The one door to git: every git subprocess qv starts runs through this module.

One environment (no prompts, no pager, no optional locks, the C locale, so messages can be
matched), one set of safety options (``HARDENED``: no hooks, no fsmonitor, no bare repository
found by walking up), explicit ``--git-dir`` for the bare repositories qv made itself
(``bare_repository``), one error mapping (``GitError`` with git's own last line and a hint
saying what to do) and one long-running ``git cat-file --batch`` reader.
``tests/repo/test_repo_gitcmd.py`` fails when a module elsewhere starts a subprocess. The
other doors, one module each, run no git: sops (``secrets/binary.py``), ``ssh-keygen``
(``approvals/sshkeygen.py``) and Graphviz ``dot`` (``graph/svg.py``).
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from qv_config.errors import GitError

Where = str | os.PathLike[str] | None  # the folder git runs in (None: the current one)
UNSHALLOW = "fetch more history: git fetch --unshallow (or git fetch --deepen=N)"
_NO_GIT = "install git and put it on PATH"


# Given to every git command (command-line config outranks any file): a repository qv reads may
# be hostile. Hooks (a committed bare repo's hooks/, a core.hooksPath) and an fsmonitor program
# would run code; an implicitly found bare repository (one committed inside a checkout, found by
# walking up from a folder) is refused: qv names its own bare repositories explicitly.
HARDENED = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "safe.bareRepository=explicit",
)
_BARE: set[str] = set()  # the bare repositories qv made (the agent's mirrors), by path


def bare_repository(path: Path) -> None:
    """Mark ``path`` as a bare repository of qv's own: git run there gets ``--git-dir=path``
    and never looks for a repository above it (a damaged one is found damaged, not replaced by
    the checkout around it)."""
    _BARE.add(os.fspath(path))


def argv(cwd: Where, args: Sequence[str]) -> list[str]:
    """The command line of ``git ARGS`` run in ``cwd``."""
    where = None if cwd is None else os.fspath(cwd)
    if where in _BARE:
        return ["git", *HARDENED, f"--git-dir={where}", *args]
    return ["git", *HARDENED, *args]


def _env_in(cwd: Where, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    out = {**env(), **extra_env} if extra_env else env()
    where = None if cwd is None else os.fspath(cwd)
    if where in _BARE:  # no discovery above it either (GIT_DIR wins; this is belt and braces)
        out["GIT_CEILING_DIRECTORIES"] = os.path.dirname(where)
    return out


def env() -> dict[str, str]:
    """The environment of every git process: reading must never write or wait for a person."""
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # no credential prompt: an agent has no terminal
        "GIT_ASKPASS": "true",  # and no askpass program either (it answers empty)
        "GIT_PAGER": "cat",
        "GIT_OPTIONAL_LOCKS": "0",  # no index refresh (a write) behind a read
        "LC_ALL": "C",  # messages in English: errors are matched on their words
    }


@dataclass(frozen=True, slots=True)
class Done:
    """One finished git process."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")

    def last_error(self) -> str:
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[-1].strip() if lines else f"git exit {self.returncode}"


def run(
    cwd: Where,
    *args: str,
    input: bytes | None = None,
    timeout: float | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Done:
    """Run ``git ARGS`` in ``cwd``; a non-zero exit is returned, not raised (some callers ask
    yes/no questions through the exit code). Git missing or too slow is a ``GitError``.
    ``extra_env``: variables added to qv's git environment (``GIT_INDEX_FILE``)."""
    try:
        proc = subprocess.run(
            argv(cwd, args),
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env_in(cwd, extra_env),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {args[0]} timed out after {timeout:g} s",
            hint="check the network and the remote; qv retries on the next run",
        ) from None
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", hint=_NO_GIT) from None
    except NotADirectoryError:
        raise GitError(f"{cwd} is not a directory") from None
    return Done(proc.returncode, proc.stdout, proc.stderr)


def output(
    cwd: Where,
    *args: str,
    input: bytes | None = None,
    timeout: float | None = None,
    what: str | None = None,
    hint: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> bytes:
    """``git ARGS``'s standard output; a failure is a ``GitError`` (``what``: the message)."""
    done = run(cwd, *args, input=input, timeout=timeout, extra_env=extra_env)
    if not done.ok:
        raise error(what or f"git {args[0]} failed", done, hint)
    return done.stdout


def text(
    cwd: Where,
    *args: str,
    input: str | None = None,
    what: str | None = None,
    hint: str | None = None,
) -> str:
    """``output`` decoded (UTF-8; undecodable bytes kept as surrogates, as file names are)."""
    data = output(cwd, *args, input=None if input is None else input.encode(), what=what, hint=hint)
    return data.decode("utf-8", "surrogateescape")


def error(message: str, done: Done, hint: str | None = None) -> GitError:
    """The one mapping of a failed git process: git's last line, and what to do about it."""
    last = done.last_error()
    return GitError(f"{message}: {last}", hint=hint or hint_for(last))


_HINTS = (
    (("shallow", "bad object", "missing", "not our ref"), UNSHALLOW),
    (("not a git repository",), "run inside a Git checkout (git init), or pass -C DIR"),
    (
        ("cannot use bare repository",),
        "qv runs git in checkouts only (safe.bareRepository=explicit): clone the bare"
        " repository and run qv in the clone",
    ),
    (
        ("dubious ownership",),
        "git refuses a repository owned by another user: "
        "git config --global --add safe.directory DIR",
    ),
    (
        ("could not resolve host", "unable to access", "connection refused", "could not read"),
        "check the URL, the network and the credentials of the remote",
    ),
    (("does not appear to be a git repository", "not found"), "check the repository URL or path"),
)


def hint_for(last: str) -> str | None:
    lowered = last.lower()
    return next((hint for needles, hint in _HINTS if any(n in lowered for n in needles)), None)


class Batch:
    """One ``git cat-file --batch`` process for every object a command reads, whatever the
    commit (one process per file, or per commit for ``qv log``, would dominate). Requests are
    serialised by a lock; the process starts on first use and again if it went away. Many
    objects are asked at once (``read_many``): a thread writes the requests while the answers
    are read, so 20,000 blobs cost no round trip each (~0.1 ms a blob)."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()  # a forked child starts its own process, never shares this
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], Batch] | None = None

    def read(self, spec: str) -> bytes | None:
        """The content of object ``spec`` (``<sha>`` or ``<rev>:<path>``); None when missing."""
        found = self.read_object(spec)
        return found[1] if found is not None else None

    def read_object(self, spec: str) -> tuple[str, bytes] | None:
        """(type, content) of object ``spec``; None when missing or not askable (a newline)."""
        if "\n" in spec:  # the protocol is line-based: such a name cannot be asked for
            return None
        with self._lock:
            stdin, stdout = self._pipes()
            stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
            stdin.flush()
            return _answer(stdout)

    def read_many(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """The content of each object of ``specs`` (None: missing or not askable), asked all
        at once: a thread writes the requests while this one reads the answers (git answers
        as it reads, so neither side waits for the other to drain a pipe)."""
        asked = [spec for spec in dict.fromkeys(specs) if "\n" not in spec]
        out: dict[str, bytes | None] = dict.fromkeys(specs)
        with self._lock:
            stdin, stdout = self._pipes()
            lines = b"".join(spec.encode("utf-8", "surrogateescape") + b"\n" for spec in asked)
            writer = threading.Thread(target=_write, args=(stdin, lines), daemon=True)
            writer.start()
            try:
                for spec in asked:
                    found = _answer(stdout)
                    out[spec] = found[1] if found is not None else None
            finally:
                writer.join()
        return out

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        proc = self._proc
        if self._owner != os.getpid():  # forked: the parent's process is the parent's
            if self._finalizer is not None:
                self._finalizer.detach()
            proc, self._owner, self._finalizer = None, os.getpid(), None
        if proc is None or proc.poll() is not None:
            proc = self._start()
        assert proc.stdin is not None
        assert proc.stdout is not None
        return proc.stdin, proc.stdout

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            proc = subprocess.Popen(
                argv(self._cwd, ("cat-file", "--batch")),
                cwd=self._cwd,
                env=_env_in(self._cwd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH", hint=_NO_GIT) from None
        self._proc = proc
        self._finalizer = weakref.finalize(self, _stop, proc)
        return proc

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._proc = None


def read_objects(cwd: Where, specs: Sequence[str]) -> dict[str, bytes | None]:
    """The content of each object of ``specs`` (None: missing or not askable), read by one
    short-lived ``cat-file --batch``: for a few objects, where a ``Batch`` costs a process to
    stop as well."""
    asked = [spec for spec in dict.fromkeys(specs) if "\n" not in spec]
    out: dict[str, bytes | None] = dict.fromkeys(specs)
    if not asked:
        return out
    lines = b"".join(spec.encode("utf-8", "surrogateescape") + b"\n" for spec in asked)
    done = run(cwd, "cat-file", "--batch", input=lines)
    if not done.ok:
        raise error("git cat-file --batch failed", done)
    answers = io.BytesIO(done.stdout)
    for spec in asked:
        found = _answer(answers)
        out[spec] = found[1] if found is not None else None
    return out


def _answer(stdout: IO[bytes]) -> tuple[str, bytes] | None:
    """One answer of ``cat-file --batch``: (type, content), or None for a missing object."""
    header = stdout.readline()
    if not header:
        raise GitError("git cat-file --batch stopped unexpectedly", hint="run again")
    if header.endswith((b" missing\n", b" ambiguous\n")):
        return None
    _, kind, size = header.split()
    data = stdout.read(int(size))
    stdout.read(1)  # the LF after each object
    return kind.decode(), data


def _write(stdin: IO[bytes], data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.flush()
    except (BrokenPipeError, ValueError):  # git went away: the reader reports it
        pass


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


def tree_entries(data: bytes, id_bytes: int = 20) -> dict[str, tuple[str, str]]:
    """A raw tree object (as ``cat-file --batch`` gives it): name -> (mode, object id).
    ``id_bytes``: 20 in a SHA-1 repository, 32 in a SHA-256 one."""
    out: dict[str, tuple[str, str]] = {}
    at = 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        out[name] = (data[at:space].decode().zfill(6), data[nul + 1 : nul + 1 + id_bytes].hex())
        at = nul + 1 + id_bytes
    return out
