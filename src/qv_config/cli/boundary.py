"""The single error boundary of qv: every ``QvError`` becomes its exit code and one line; a
traceback is shown only with ``-v``. Free of typer and click: ``cli.quick`` runs command lines
inside it without them, ``cli.app.run`` with them.

What this boundary prints is made safe like every report (``qv_config.safetext``): a QvError's
message names files and values, so it is escaped and bounded. An unexpected exception's text can
hold anything the code was holding (a document's value, a decrypted secret), so without ``-v``
only its type and where it was raised are printed, never its message.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from qv_config.cli import state

if TYPE_CHECKING:
    from qv_config.errors import QvError


def guarded(work: Callable[[], int]) -> int:
    """``work()``'s exit code; a QvError, an interrupt or a bug as its exit code."""
    from qv_config.errors import QvError

    try:
        return work()
    except QvError as error:
        if state.OPTIONS.verbose:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"qv: error: {error_text(error)}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as bug:  # the boundary: never a bare traceback, nor the bug's text, without -v
        sys.stderr.write(internal_error_text(bug, verbose=state.OPTIONS.verbose))
        return 3


def error_text(error: QvError) -> str:
    """A QvError's one line: its message and hint escaped and bounded (they quote names and
    values from the repository and the command line; a message may gather a few findings).
    Paths are named whole up to NAME characters: an error is where a user copies one from."""
    from qv_config.safetext import MESSAGE, NAME, bounded

    message = bounded(error.message, 2 * MESSAGE, NAME)
    return f"{message} ({bounded(error.hint, MESSAGE, NAME)})" if error.hint else message


def internal_error_text(bug: BaseException, *, verbose: bool) -> str:
    """What an unexpected exception shows: its type and the line of qv that raised it (or, with
    ``-v``, the whole traceback, message included: asked for by name, like ``--decrypt``)."""
    if verbose:
        import traceback

        return "".join(traceback.format_exception(bug))
    from qv_config.errors import bug_summary

    return (
        f"qv: internal error: {bug_summary(bug)} (run again with -v for the traceback"
        " and report it)\n"
    )
