"""Entry point of the ``qv`` console script.

``qv --version`` is answered before anything heavy is imported (SPEC §10: it must be fast).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from qv_config import __version__

        sys.stdout.write(f"qv {__version__}\n")
        raise SystemExit(0)
    import gc
    import os

    # qv's own models need no pydantic plugins, and looking for them scans every installed
    # package's entry points (~35 ms) when the first model is built. A user's setting wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Importing the CLI allocates ~100,000 long-lived objects (typer, click, qv's modules): the
    # cyclic collector would walk them again and again for nothing. Collect never while
    # importing, then freeze what exists so later collections skip it. Only for the console
    # script (``argv`` None): a process calling main() again and again (tests) must not freeze
    # garbage it made in between.
    enabled = gc.isenabled()
    if argv is None:
        skip_teardown()
        gc.disable()
    from qv_config.cli import quick

    line = quick.parse(args)  # a common `qv validate` line: run without typer and click
    if line is None:
        from qv_config.cli.app import run
    else:
        import qv_config.cli.validating  # noqa: F401  (imported with the collector off)

    if argv is None:
        gc.freeze()
        if enabled:
            gc.enable()
    try:
        if line is not None:
            raise SystemExit(quick.run(line))
        run(args)
    except SystemExit as stop:
        if argv is None:
            exiting(stop.code)
        raise  # Python runs the exit handlers; the last of them is ``_skip_teardown``


_CODE: list[int] = []  # the console script's exit code, once it is known


def exiting(code: object) -> None:
    """The console script ends with ``code`` (a message instead: Python prints it)."""
    if code is None or isinstance(code, int):
        _CODE.append(code or 0)


def skip_teardown() -> None:
    """Register, before anything else registers an exit handler, the end of the console script
    without tearing down the interpreter's ~100,000 objects one by one (~18 ms of a 0.3 s warm
    ``qv validate`` at 50,000 documents), as mypy does. Exit handlers run last-registered
    first, so this one runs after every other (multiprocessing's, weakref finalizers, logging):
    only the teardown that follows them is skipped. A run that ends otherwise (an exit message,
    an internal error) tears down as usual."""
    import atexit

    atexit.register(_skip_teardown)


def _skip_teardown() -> None:
    import contextlib
    import os

    if not _CODE:
        return
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (qv ... | head) or stream: nothing more can be written anyway.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(_CODE[-1])


if __name__ == "__main__":
    main()
