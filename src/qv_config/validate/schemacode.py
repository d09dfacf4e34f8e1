"""Compiled service-schema validators, cached on disk as marshalled code objects.

``fastjsonschema`` turns a JSON Schema into Python source and compiles it: ~5 ms a schema, most
of it in Python's own ``compile()``. A cold ``qv diff`` or ``qv validate`` needs dozens of
schemas, so the *code object* is kept under ``.qv/cache/schemacode/``, one file per schema, and a
later process only unmarshals and executes it (~0.1 ms).

The code is run, so a file is trusted only when this user's own qv wrote it and it is whole and
meant for this very input: it is sealed (``repo.statefile``: a ``.qv/`` committed to the
repository or restored from another machine's CI cache is ignored), then holds a format line,
the key (a digest of the schema's content digest, the generator options, the versions of qv and
fastjsonschema and Python's bytecode tag) and a checksum of the payload. Anything else -- a
foreign, truncated or corrupt file, another Python, another fastjsonschema -- is a miss, and the
schema is compiled again. Deleting ``.qv/`` is always safe.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

from qv_config import __version__

_FORMAT = b"qv-schemacode-1"
# Validation must never change the document (``use_default`` would insert schema defaults into
# the rendered data that diff and sync use), and failures are described again by ``jsonschema``,
# so the generator's detailed messages (half the code to compile) are not needed.
_OPTIONS: dict[str, Any] = {"use_default": False, "detailed_exceptions": False}
_ENTRY = "validate"  # the name the cached module binds its entry function to

Validator = Callable[[Any], Any]


def schema_digest(raw: bytes) -> str:
    """The content digest a service schema is known by (``SchemaStore`` and this cache)."""
    return hashlib.sha256(raw).hexdigest()


def folder_of(root: Path | None) -> Path | None:
    """Where the cache of the project at ``root`` lives (None: no cache)."""
    return root / ".qv" / "cache" / "schemacode" if root is not None else None


def cache_key(digest: str) -> str:
    """Everything the generated code depends on, besides the schema's content."""
    import fastjsonschema

    parts = (
        _FORMAT.decode(),
        __version__,
        fastjsonschema.VERSION,
        sys.implementation.cache_tag or "",
        repr(sorted(_OPTIONS.items())),
        digest,
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def compile_validator(digest: str, schema: Any, folder: Path | None) -> Validator | None:
    """The validator of ``schema`` (content digest ``digest``): from the cache when a file for
    exactly this input is there, else compiled (and stored). None: fastjsonschema refuses it."""
    key = cache_key(digest) if folder is not None else ""
    path = folder / f"{key}.bin" if folder is not None else None
    if path is not None:
        cached = _load(path, key)
        if cached is not None:
            return cached
    code = _generate(schema)
    if code is None:
        return None
    if path is not None:
        _store(path, key, code)
    return _run(code)


def _refuse(uri: str) -> Any:
    raise ValueError(f"remote $ref {uri!r} is not fetched")


# fastjsonschema fetches any $ref it cannot resolve in the schema itself (urlopen or requests):
# validation must not reach the network or read files outside the repository. Each scheme
# urlopen knows is refused; the schema then goes to jsonschema, which never fetches.
_NO_FETCH = dict.fromkeys(("http", "https", "ftp", "file", "data", ""), _refuse)


def _generate(schema: Any) -> CodeType | None:
    import fastjsonschema

    try:
        source = fastjsonschema.compile_to_code(schema, handlers=_NO_FETCH, **_OPTIONS)
        name = _entry_name(schema)
        return compile(f"{source}\n{_ENTRY} = {name}\n", "<qv schema validator>", "exec")
    except Exception:  # fastjsonschema lacks some 2020-12 keywords: jsonschema decides then
        return None


def _entry_name(schema: Any) -> str:
    """The name fastjsonschema gives the entry function (from the schema's ``$id``)."""
    from fastjsonschema.ref_resolver import RefResolver

    resolver = RefResolver.from_schema(schema, handlers={}, store={})
    return str(resolver.get_scope_name())


def _run(code: CodeType) -> Validator | None:
    namespace: dict[str, Any] = {"__name__": "qv_schema_validator"}
    # Code qv generated itself, or read back from a file this user sealed, whose key and
    # checksum match.
    exec(code, namespace)
    entry = namespace.get(_ENTRY)
    return entry if callable(entry) else None


def _store(path: Path, key: str, code: CodeType) -> None:
    """Nothing is kept: no cache holds code qv would run (issue 10; schemas compile in memory,
    once per process)."""


def _load(path: Path, key: str) -> Validator | None:
    return None


def precompile_in_background(root: Path) -> Callable[[], None]:
    """Compile the work tree's service schemas into the cache in a forked process, while the
    caller does other work (a first ``qv diff`` renders both sides meanwhile); returns the
    function that waits for it. Nothing happens where the cache is complete, or without fork.

    The child only reads schema files and writes sealed cache files (each atomically); a file
    it has not written yet is simply compiled by the caller, so waiting is never required for
    correctness, only to avoid compiling twice."""
    import os

    folder = folder_of(root)
    todo: list[tuple[str, Any]] = []  # compiled code is no longer kept: nothing to prepare
    if not todo or folder is None or not hasattr(os, "fork"):
        return lambda: None
    if not todo or folder is None:
        return lambda: None
    pid = os.fork()
    if pid == 0:  # the child: compile, then leave without running the parent's exit handlers
        code = 0
        try:
            for digest, schema in todo:
                compile_validator(digest, schema, folder)
        except BaseException:
            code = 1
        os._exit(code)
    return lambda: _reap(pid)


def _reap(pid: int) -> None:
    import contextlib
    import os

    with contextlib.suppress(ChildProcessError):  # already reaped by an earlier call
        os.waitpid(pid, 0)


def _uncached(root: Path, folder: Path) -> list[tuple[str, Any]]:
    """(digest, schema) of each ``schemas/configs/*.schema.json`` without a cache file yet."""
    import json

    todo = []
    for path in sorted((root / "schemas" / "configs").glob("*.schema.json")):
        try:
            raw = path.read_bytes()
            schema = json.loads(raw)
        except (OSError, ValueError):
            continue  # reported by validation, which reads it again
        digest = schema_digest(raw)
        if not (folder / f"{cache_key(digest)}.bin").is_file():
            todo.append((digest, schema))
    return todo
