"""The public exception hierarchy of qv.

Every error a user can meet is a ``QvError``; the CLI maps its ``exit_code`` to the process exit
status in one place (``qv_config.cli.boundary``) and prints ``str(error)`` as one line. Messages
say what went wrong *and what to do next*.

Exit codes (SPEC §10): 0 success; 1 a check failed; 2 usage error; 3 operational error.
"""

from __future__ import annotations


class QvError(Exception):
    """Base of every error qv raises on purpose."""

    exit_code: int = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class CheckFailed(QvError):
    """A check did not pass: invalid configuration, differences with --exit-code, drift."""

    exit_code = 1


class StateRefused(CheckFailed):
    """A state qv will not deploy because of findings (validation errors, a document rendering
    left out). ``located`` names where they are (file:line:col, code, field) and never what a
    finding says, which may quote a document's value: what the agent logs, answers on
    ``/healthz`` and records in the audit log, places kept beyond the terminal of the user who
    asked."""

    def __init__(self, message: str, *, located: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.located = located


class UsageError(QvError):
    """The command line itself is wrong: unknown environment, bad selector, bad option value."""

    exit_code = 2


class OperationalError(QvError):
    """The world is not as needed: Git, store, keys, leases, missing binaries."""

    exit_code = 3


class ProjectError(UsageError):
    """No qv project here, or qv.yaml is unusable."""


class GitError(OperationalError):
    """A git command failed (unknown revision, shallow clone, not a repository)."""


class ForgeError(OperationalError):
    """The forge (GitHub's REST API, ``forge/``) refused or failed a call: a bad token, a
    rate limit, an unknown repository, a rejected request, no answer. ``status``: the HTTP
    status of the answer, None when there was none."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status


def bug_summary(bug: BaseException) -> str:
    """An unexpected exception as ``Type at module:line``, never its text: that can hold
    anything the code was holding (a document's value, a decrypted secret). The line is the
    innermost frame of qv's own code (a library's frame says less about which qv feature
    failed), else the innermost frame."""
    kind = type(bug)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    frames: list[tuple[str, int]] = []
    tb = bug.__traceback__
    while tb is not None:
        frames.append((str(tb.tb_frame.f_globals.get("__name__", "?")), tb.tb_lineno))
        tb = tb.tb_next
    ours = [frame for frame in frames if frame[0].startswith("qv_config.")]
    module, line = (ours or frames or [("unknown", 0)])[-1]
    return f"{name} at {module}:{line}"
