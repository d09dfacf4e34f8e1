"""Values of template strings that do not read ``doc``, by (qv.yaml, context without ``doc``,
string), bound to the installed Jinja2 (``templates.qvc``): a changed document whose strings are
all known renders without importing Jinja2. Only values that rendered cleanly, as plain data."""

from __future__ import annotations

import hashlib
import marshal
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.pack import sealer

MISSING: Any = object()
_FILE = "templates.qvc"
_MAX_ENTRIES = 20_000  # a bound on the file: a tree's templates are a few hundred strings


def _jinja_fingerprint() -> str:
    """The installed Jinja2, told apart without importing it."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("jinja2")
    origin = spec.origin if spec is not None else None
    if origin is None:
        return "-"
    st = os.stat(origin)
    return f"{origin}:{st.st_size}:{st.st_mtime_ns}"


class TemplateValues:
    """The memo of one run for the project at ``root`` whose qv.yaml has digest ``project``."""

    def __init__(self, root: Path | None, project: str = "") -> None:
        self._path = root / ".qv" / "cache" / _FILE if root is not None else None
        self._seal = sealer(root, _FILE, _jinja_fingerprint()) if root is not None else None
        self._project = project
        self._values: dict[str, bytes] | None = None  # read on first use
        self._added: dict[str, bytes] = {}  # by this process
        self._last: tuple[str | None, str | None, str] = (None, None, "")  # the last key made

    def _all(self) -> dict[str, bytes]:
        if self._values is None:
            blob = pack.read_one(self._path, self._seal, "values") if self._path else None
            self._values = marshal.loads(blob) if blob else {}
        return self._values

    def _key(self, context: str, text: str) -> str:
        last = self._last  # a string not kept is put right after it was looked up: one digest
        if last[0] is context and last[1] is text:
            return last[2]
        digest = hashlib.blake2b(f"{self._project}\0{context}\0{text}".encode(), digest_size=16)
        self._last = (context, text, digest.hexdigest())
        return self._last[2]

    def get(self, context: str, text: str) -> Any:
        """The value ``text`` gave in the context of digest ``context``, or ``MISSING``."""
        if self._seal is None:
            return MISSING
        blob = self._all().get(self._key(context, text))
        return MISSING if blob is None else marshal.loads(blob)

    def put(self, context: str, text: str, value: Any) -> None:
        if self._seal is None or len(self._all()) >= _MAX_ENTRIES:
            return
        try:
            blob = marshal.dumps(value)
        except ValueError:  # not plain data: not kept
            return
        key = self._key(context, text)  # per distinct template string: no dict made for it
        self._all()[key] = self._added[key] = blob

    def added(self) -> dict[str, bytes]:
        """What this process added (a forked worker sends it to its parent)."""
        return dict(self._added)

    def add(self, entries: dict[str, bytes]) -> None:
        if self._seal is not None:
            self._all().update(entries)
            self._added.update(entries)

    def save(self) -> None:
        if self._path is not None and self._added:
            pack.write(self._path, self._seal, {"values": marshal.dumps(self._all())})
            self._added = {}


NO_VALUES = TemplateValues(None)
