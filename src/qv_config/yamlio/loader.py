"""``load_bytes``: the one entry point that turns a file's bytes into a ``LoadedDoc``.

Order of checks (each cheap check first, so hostile input costs almost nothing):
size (QV106, before decoding) → UTF-8 (QV107) → the one YAML reader (``strict``: libyaml's C
events and qv's composer), authoritative for every value, error code and position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from qv_config.yamlio.types import FieldPath, Limits, LoadedDoc, Mark, YamlError

_BOM = b"\xef\xbb\xbf"
_DEFAULT_LIMITS = Limits()


class ParseCache(Protocol):
    """Values of files already loaded, by content digest (see ``qv_config.cache.parse``)."""

    def value(self, digest: str) -> Any | None: ...

    def put_value(self, digest: str, value: Any) -> None: ...


def too_large(path: str, size: int, limits: Limits) -> YamlError:
    """QV106 for a file of ``size`` bytes (a caller that knows the size need not read it)."""
    return YamlError(
        "QV106",
        path,
        Mark(1, 1),
        f"the file is {size} bytes, over the limit of {limits.max_file_bytes}: "
        "split it, or raise spec.limits.max_file_bytes in qv.yaml",
    )


def load_bytes(
    path: str,
    data: bytes,
    *,
    limits: Limits = _DEFAULT_LIMITS,
    cache: ParseCache | None = None,
) -> LoadedDoc:
    """Strictly load one YAML file (SPEC §4); raise ``YamlError`` with a QV1xx code on refusal.

    With ``cache``, a file whose exact bytes were loaded before is not parsed again: only files
    that loaded cleanly are cached, so every error is still found and positioned afresh.
    """
    if len(data) > limits.max_file_bytes:
        raise too_large(path, len(data), limits)
    digest = hashlib.blake2b(data, digest_size=20).hexdigest()
    body = data[3:] if data.startswith(_BOM) else data
    text = _decode(path, body)
    value = cache.value(digest) if cache is not None else None
    if value is None:
        from qv_config.yamlio import strict  # PyYAML: not imported while the cache serves

        value = strict.load_value(path, body, limits)
        if cache is not None:
            cache.put_value(digest, value)
    return LoadedDoc(
        path=path,
        data=value,
        text=text,
        digest=digest,
        locate=partial(_locate, path, body, limits),
    )


def value_of(path: str, data: bytes, limits: Limits = _DEFAULT_LIMITS) -> tuple[str, Any]:
    """``load_bytes``' digest and value alone, with the same checks in the same order (the
    same ``YamlError``): a parse worker keeps nothing else, so no text, document or positions
    are made for it (an ASCII file is UTF-8: not decoded)."""
    if len(data) > limits.max_file_bytes:
        raise too_large(path, len(data), limits)
    body = data[3:] if data.startswith(_BOM) else data
    if not body.isascii():
        _decode(path, body)  # QV107 before any YAML error
    from qv_config.yamlio.strict import load_value  # (a module: no package's fromlist)

    return hashlib.blake2b(data, digest_size=20).hexdigest(), load_value(path, body, limits)


UNSET: Any = object()


class LazyDoc(LoadedDoc):
    """A ``LoadedDoc`` that keeps neither the file's text nor, once released, its value: both
    are read again (value from the parse memo) on first use of ``data``, ``text`` or a position.

    A snapshot of 50,000 files holds its documents this way: a warm run that renders a few
    documents never decodes the other thousands, and a cold run releases each environment's
    values once it is checked (memory). ``value(digest)`` gives the parsed value (normally from
    the parse memo; None: parse the file again, which must still have that digest); ``read(path)``
    the file's bytes. ``unread``: the file was not read by the load that made this document
    (its stat vouched for it). Shared callables, not one closure per document.
    """

    _data: Any = UNSET
    _text: str | None = None
    _keep = False  # a value that is not the file's (sops block stripped): never released
    unread = True

    def __init__(
        self,
        path: str,
        digest: str,
        value: Callable[[str], Any],
        read: Callable[[str], bytes | None],
        limits: Limits = _DEFAULT_LIMITS,
        data: Any = UNSET,
    ) -> None:
        self.path = path
        self.digest = digest
        self._value = value
        self._read = read
        self._limits = limits
        if data is not UNSET:
            self._data, self.unread = data, False
        # _text and _positions start as the class defaults (above, and LoadedDoc's): 50,000
        # documents are made per run, and most are never touched.

    @property
    def data(self) -> Any:
        if self._data is UNSET:
            found = self._value(self.digest)
            self._data = found if found is not None else self._full().data
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value
        self._keep = True

    def release(self) -> None:
        """Forget the decoded value (it is decoded again when next used)."""
        if not self._keep:
            self._data = UNSET

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._full().text
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value

    def locate(self) -> dict[FieldPath, Mark]:
        return self._full().positions()

    def _full(self) -> LoadedDoc:
        data = self._read(self.path)
        doc = load_bytes(self.path, data, limits=self._limits) if data is not None else None
        if doc is None or doc.digest != self.digest:
            from qv_config.errors import OperationalError

            raise OperationalError(
                f"{self.path} changed or disappeared while qv was reading the repository",
                hint="run the command again",
            )
        return doc


def release(*docs: LoadedDoc | None) -> None:
    """Let each ``LazyDoc`` of ``docs`` go of its decoded value (others keep theirs)."""
    for doc in docs:
        if isinstance(doc, LazyDoc):
            doc.release()


def load_text(path: str, text: str, *, limits: Limits = _DEFAULT_LIMITS) -> LoadedDoc:
    """``load_bytes`` for text already in memory (tests, stdin, the writer's self-check)."""
    return load_bytes(path, text.encode("utf-8"), limits=limits)


def positions_of(path: str, data: bytes, limits: Limits = _DEFAULT_LIMITS) -> dict[FieldPath, Mark]:
    """The positions table of a file (strict path with positions); raises like ``load_bytes``."""
    body = data[3:] if data.startswith(_BOM) else data
    return _locate(path, body, limits)


def _locate(path: str, body: bytes, limits: Limits) -> dict[FieldPath, Mark]:
    from qv_config.yamlio import strict

    composer = strict.compose(path, body, limits, track=True)
    assert composer.positions is not None  # track=True always records
    return composer.positions


def _decode(path: str, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        start = body.rfind(b"\n", 0, err.start) + 1
        column = len(body[start : err.start].decode("utf-8", errors="replace")) + 1
        line = body.count(b"\n", 0, err.start) + 1
        raise YamlError(
            "QV107",
            path,
            Mark(line, column),
            f"byte 0x{body[err.start]:02X} is not valid UTF-8: save the file as UTF-8",
        ) from None
