"""Text from a repository made safe to print: escaped and bounded (docs/format.md, "What qv
prints").

Everything qv reports can come from whoever wrote the repository: values, keys, file names,
document names, commit messages. Printed raw, a value can recolour or rewrite a terminal (ANSI
escapes), reorder what a reviewer reads (bidi overrides), raise annotations in a CI log (GitHub
workflow commands) or flood a report with a megabyte. So every reporter passes such text through
``escape`` (unsafe characters become visible ``\\x1b`` / ``\\u202e`` text) and the bounds here
(``clip``, ``bounded``), and machine output through ``json_safe``. Kept free of imports beyond
``re``: findings are built on hot paths.
"""

from __future__ import annotations

import re

EXCERPT = 80  # characters of one value (or of a source line) a report may quote
NAME = 200  # characters of a file name, document name or field path
MESSAGE = 400  # characters of one message (a finding's, an error's)
ELLIPSIS = "…"

# Unicode's control (Cc), format (Cf: bidi overrides and isolates, zero-width characters, tag
# characters), line/paragraph separator (Zl, Zp) and surrogate (Cs: undecodable bytes of a file
# name) code points: invisible, or able to move what follows.
UNSAFE_CHARS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]|##\\[|^\\s*::")
_UNSAFE_IN_JSON = re.compile(f"[{UNSAFE_CHARS}]|##\\[")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# A value inside a message: a quoted string (Python's repr, quotes of either kind), or a run
# without spaces. Elided past EXCERPT wherever a message came from.
_TOKEN = re.compile(r"""(?<!\S)'(?:[^'\\]|\\.)*'(?!\w)|(?<!\S)"(?:[^"\\]|\\.)*"(?!\w)|\S+""")
_BRACKETS = re.compile(r"[\[\]{}]")


def escape(text: str) -> str:
    """``text`` with every unsafe character shown as an escape (``\\x1b``, ``\\u202e``), and the
    GitHub workflow-command openers a log would act on (``::`` starting a line, ``##[``
    anywhere) broken up. Safe text is returned as it is."""
    # Every unsafe character is one ``str.isprintable`` refuses (a test checks all of Unicode):
    # most text is decided in C, without the character class (a diff prints ~25,000 strings).
    if text.isprintable() and "##[" not in text and "::" not in text:
        return text
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    found = match.group()
    if found == "##[":
        return "#\\x23["
    if found.endswith("::"):
        return found[:-2] + "\\x3a:"
    return _NAMED.get(found) or _code(ord(found))


def _code(point: int) -> str:
    if 0xDC80 <= point <= 0xDCFF:  # a byte that is not UTF-8, kept by surrogateescape
        return f"\\x{point - 0xDC00:02x}"
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def safe(text: str, limit: int = NAME) -> str:
    """A name, path or label from a repository: escaped and clipped (a megabyte of it is never
    escaped whole to show ``limit`` characters)."""
    return clip(escape(text[: limit + 1]), limit)


def bounded(message: str, limit: int = MESSAGE, excerpt: int = EXCERPT) -> str:
    """A message that may quote values: escaped, every quoted value, bracketed value or
    space-free run longer than ``excerpt`` cut to ``excerpt`` in its middle, and the whole kept
    within ``limit`` (its beginning, what is wrong, and its end, what to do). Idempotent: a
    bounded message is returned unchanged."""
    if len(message) <= excerpt:
        return escape(message)
    if len(message) > 8 * limit:  # never scan a megabyte to show a few hundred characters
        message = message[: 4 * limit] + ELLIPSIS + message[-2 * limit :]
    text = _elide_values(escape(message), excerpt)
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[: limit - tail - 3] + f" {ELLIPSIS} " + text[-tail:]


def _elide_values(text: str, excerpt: int) -> str:
    parts: list[str] = []
    done = 0
    closers: dict[int, int] | None = None
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if start < done:
            continue  # inside a bracketed value already elided
        if text[start] in "{[":
            closers = _closers(text) if closers is None else closers
            end = max(end, closers.get(start, end))
        if end - start > excerpt:
            parts += [text[done:start], _excerpt(text[start:end], excerpt)]
            done = end
    return "".join([*parts, text[done:]]) if parts else text


def _closers(text: str) -> dict[int, int]:
    """Where each bracketed value (a dict or list repr) that closes ends, by where it opens:
    one pass, so a message of many brackets costs what its length does."""
    opened: list[int] = []
    ends: dict[int, int] = {}
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            opened.append(match.start())
        elif opened:
            ends[opened.pop()] = match.end()
    return ends


def _excerpt(value: str, size: int) -> str:
    """A long value cut to ``size`` characters in its middle: its opening and closing quote or
    bracket stay, and a path keeps its file name."""
    head = (size - 1) // 2
    return value[:head] + ELLIPSIS + value[head - size + 1 :]


def json_safe(text: str) -> str:
    """Serialised JSON with the unsafe characters its encoder leaves raw (bidi, zero-width,
    DEL, C1, lone surrogates) and ``##[`` written as ``\\u`` escapes: the same data, inert in a
    terminal or a CI log."""
    if text.isascii() and "\x7f" not in text and "##[" not in text:
        return text
    return _UNSAFE_IN_JSON.sub(_json_escaped, text)


def _json_escaped(match: re.Match[str]) -> str:
    found = match.group()
    if found in "\n\r\t":  # raw, these are the encoder's indentation: structure, not data
        return found
    if found == "##[":
        return "#\\u0023["
    point = ord(found)
    if point < 0x10000:
        return f"\\u{point:04x}"
    point -= 0x10000  # a UTF-16 surrogate pair, as JSON writes astral code points
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"
