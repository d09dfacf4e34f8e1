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
        gc.disable()
    from qv_config.cli.app import run

    if argv is None:
        gc.freeze()
        if enabled:
            gc.enable()
    if argv is not None:
        run(args)
        return
    try:
        run(args)
    except SystemExit as stop:
        _exit(stop.code)


def _exit(code: object) -> None:
    """End the console script without tearing down the interpreter's ~100,000 objects one by
    one (~6 ms of a 0.2 s warm ``qv validate``), as mypy does: what must happen at exit still
    does (streams flushed, atexit handlers: multiprocessing, weakref finalizers)."""
    import atexit
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (qv ... | head) or stream: nothing more can be written anyway.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()
    if code is None or isinstance(code, int):
        os._exit(code or 0)
    raise SystemExit(code)  # a message as exit "code": let Python print it


if __name__ == "__main__":
    main()
