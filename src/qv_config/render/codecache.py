"""Compiled template code kept across runs: ``.qv/cache/templates.marshal`` (safe to delete).

Compiling a template string costs Jinja2's lexer (dozens of regular expressions built on first
use), its parser and its code generator: ~50 ms for the first string of a run, ~1 ms for each
further one. A warm run that re-renders one edited document would pay that for a handful of
strings it has compiled many times before. The Python code object Jinja2 generates depends only
on the string, the Jinja2 version and the sandbox's settings, so it is kept by a digest of the
string, in a file keyed by the qv, Jinja2 and Python versions.

Only strings that passed the sandbox's static checks are kept, and the file is sealed
(``repo.statefile``): code that qv executes is never read from a file this user's qv did not
write.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from pathlib import Path
from types import CodeType
from typing import Any

_FORMAT = "qv-template-code/3"  # 3: loops and ~ instrumented, finalize (render/bounds.py)
_MAX_ENTRIES = 20_000  # a bound on the file: templates of a tree are a few hundred strings
MISSING = object()  # what ``value`` returns for a value not kept


def _header() -> tuple[str, ...]:
    from qv_config import __version__

    return (_FORMAT, __version__, sys.version, _jinja_fingerprint())


def _jinja_fingerprint() -> str:
    """The installed Jinja2, told apart without importing it (a warm run that finds every
    template value in this file never imports Jinja2 at all)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("jinja2")
    origin = spec.origin if spec is not None else None
    if origin is None:
        return "-"
    st = os.stat(origin)
    return f"{origin}:{st.st_size}:{st.st_mtime_ns}"


def _key(kind: str, text: str) -> str:
    return hashlib.blake2b(f"{kind}\0{text}".encode(), digest_size=16).hexdigest()


class CodeCache:
    """Code objects by (kind, template string) for one project root."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # Read on first use: code by (kind, text) digest, and the values of templates that do
        # not read ``doc`` by (context digest, text) digest.
        self._loaded: tuple[dict[str, tuple[bytes, bool]], dict[str, bytes]] | None = None
        self._dirty = False

    @property
    def _entries(self) -> dict[str, tuple[bytes, bool]]:
        return self._parts()[0]

    @property
    def _values(self) -> dict[str, bytes]:
        return self._parts()[1]

    def _parts(self) -> tuple[dict[str, tuple[bytes, bool]], dict[str, bytes]]:
        if self._loaded is None:
            self._loaded = self._read(self.path) if self.path is not None else ({}, {})
        return self._loaded

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, tuple[bytes, bool]], dict[str, bytes]]:
        from qv_config.repo.statefile import read_state_file

        blob = read_state_file(path)
        try:
            stored = marshal.loads(blob) if blob is not None else None
        except (EOFError, ValueError, TypeError):
            return {}, {}
        if type(stored) is not tuple or len(stored) != 3 or stored[0] != _header():
            return {}, {}
        codes, values = stored[1], stored[2]
        return (codes if type(codes) is dict else {}), (values if type(values) is dict else {})

    def value(self, context: str, text: str) -> Any:
        """The value ``text`` gave in a template context with digest ``context`` (a template
        that does not read ``doc``), or ``MISSING``."""
        blob = self._values.get(_key(context, text))
        if blob is None:
            return MISSING
        try:
            return marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return MISSING

    def put_value(self, context: str, text: str, value: Any) -> None:
        if self.path is None or len(self._values) >= _MAX_ENTRIES:
            return
        try:
            self._values[_key(context, text)] = marshal.dumps(value)
        except ValueError:  # not plain data: not kept
            return
        self._dirty = True

    def get(self, kind: str, text: str) -> tuple[CodeType, bool] | None:
        entry = self._entries.get(_key(kind, text))
        if entry is None:
            return None
        try:
            code = marshal.loads(entry[0])
        except (EOFError, ValueError, TypeError):
            return None
        return (code, bool(entry[1])) if isinstance(code, CodeType) else None

    def put(self, kind: str, text: str, code: CodeType, uses_doc: bool) -> None:
        if self.path is None or len(self._entries) >= _MAX_ENTRIES:
            return
        self._entries[_key(kind, text)] = (marshal.dumps(code), uses_doc)
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        from qv_config.repo.statefile import write_state_file

        # Merged with what is on disk now: the forked workers of a cold run (one environment
        # each) save their own entries one after another, and the last must not drop the rest.
        codes, values = self._read(self.path)
        codes.update(self._entries)
        values.update(self._values)
        if len(codes) + len(values) > 2 * _MAX_ENTRIES:  # a bound on the file: start afresh
            codes, values = dict(self._entries), dict(self._values)
        write_state_file(self.path, marshal.dumps((_header(), codes, values)))
        self._loaded = (codes, values)
        self._dirty = False


_ACTIVE: list[CodeCache] = [CodeCache(None)]


def attach(root: Path | None) -> None:
    """Use the code cache of the project at ``root`` (None: none) from now on in this process."""
    path = root / ".qv" / "cache" / "templates.marshal" if root is not None else None
    if _ACTIVE[0].path != path:
        _ACTIVE[0].save()
        _ACTIVE[0] = CodeCache(path)


def active() -> CodeCache:
    return _ACTIVE[0]


def save() -> None:
    """Write what this process compiled since the last save (cheap when nothing is new)."""
    _ACTIVE[0].save()


def instantiate(env: Any, code: CodeType) -> Any:
    """A Jinja2 template of ``env`` from compiled code, as ``Environment.from_string`` builds it."""
    return env.template_class.from_code(env, code, env.make_globals(None), None)
