"""Source lines at or under a secret key, found from the file's text (SPEC §8, docs/secrets.md).

The text reporter quotes the source line of every finding. A finding of any code can point at a
line holding a secret in plaintext (a duplicate ``password:`` key is QV102, a YAML finding made
before any document exists), so which lines to mask cannot come from the findings' codes alone,
nor from a parsed value (a file with a YAML error has none). The lines are read here as block
YAML is written: indentation and list dashes give each line its key path (``*`` for a list
item), and a line is secret when that path is at or under a secret path: a key that the file's
``.sops.yaml`` rule encrypts (``encrypted_regex``, at any depth, everything beneath it) or a field
the document's schema marks ``x-qv-secret``. Only the lines up to the one asked are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from qv_config.report.mask import KEY

Path = tuple[str, ...]
Secret = Callable[[Path], bool]
_INNER_KEY = re.compile(r"""[{,]\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s:{},'"]+)\s*:""")


@dataclass
class SecretLines:
    """Line number -> column of the key to mask after, for the lines read so far of one file."""

    lines: Iterator[str]
    secret: Secret
    found: dict[int, int] = field(default_factory=dict)
    read: int = 0
    _stack: list[tuple[int, str]] = field(default_factory=list)

    def column(self, number: int) -> int | None:
        """The column to mask line ``number`` after (None: not a secret line)."""
        while self.read < number:
            line = next(self.lines, None)
            if line is None:
                break
            self.read += 1
            self._scan(line)
        return self.found.get(number)

    def _scan(self, line: str) -> None:
        body = line.lstrip(" ")
        if not body or body.startswith("#") or body.startswith(("---", "...")):
            return
        indent = len(line) - len(body)
        while self._stack and self._stack[-1][0] >= indent:
            self._stack.pop()
        col = indent
        while body[:2] == "- " or body == "-":
            self._stack.append((col, "*"))
            rest = body[1:].lstrip(" ")
            col, body = col + len(body) - len(rest), rest
        key = KEY.match(body)
        path = tuple(step for _, step in self._stack)
        if key is None:
            if path and self.secret(path):
                self.found[self.read] = col + 1  # a list item or a block scalar's text
            return
        name = _unquoted(key.group(1))
        self._stack.append((col, name))
        here = (*path, name)
        inner = [(*here, _unquoted(m.group(1))) for m in _INNER_KEY.finditer(body[key.end() :])]
        if any(self.secret(p) for p in (here, *inner)):
            self.found[self.read] = col + 1


def _unquoted(key: str) -> str:
    if len(key) > 1 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1]
    return key.strip()


def secret_test(encrypted: re.Pattern[str] | None, marked: frozenset[Path]) -> Secret:
    """Whether a key path is at or under a secret path: a key ``encrypted`` matches (sops tests
    each key of a path, and encrypts all beneath it), or a field ``marked`` (patterns, ``*``
    any key or item)."""

    def secret(path: Path) -> bool:
        if (
            encrypted is not None
            and path[:1] != ("sops",)
            and any(step != "*" and encrypted.search(step) for step in path)
        ):
            return True
        return any(_under(pattern, path) for pattern in marked)

    return secret


def _under(pattern: Path, path: Path) -> bool:
    if len(pattern) > len(path):
        return False
    return all(want in ("*", got) for want, got in zip(pattern, path, strict=False))


Read = Callable[[str], bytes | None]
_KIND = re.compile(rb"^kind:[ \t]*[\"']?([A-Za-z][\w-]*)", re.M)
_NAME = re.compile(
    rb"^metadata:(?:[ \t]*\{[^}\n]*?\bname:[ \t]*[\"']?([^\"',}\s]+)"
    rb"|[ \t]*\r?\n(?:[ \t]+.*\r?\n)*?[ \t]+name:[ \t]*[\"']?([^\"'\s#]+))",
    re.M,
)


def for_file(
    read: Read, file: str, raw: bytes, named: tuple[str | None, str | None]
) -> SecretLines:
    """The secret lines of ``file`` (its bytes ``raw``), by its ``.sops.yaml`` rule and the marks
    of its document's kind: ``named`` (kind, name) from a finding, else read from the text."""
    kind, name = named
    if kind is None:
        head = raw[:65536]
        found_kind, found_name = _KIND.search(head), _NAME.search(head)
        kind = found_kind.group(1).decode() if found_kind else None
        named_as = (found_name.group(1) or found_name.group(2)) if found_name else None
        name = named_as.decode("utf-8", "replace") if named_as else None
    test = secret_test(_rule_regex(read, file), _marks(read, kind, name))
    return SecretLines(_lines(raw), test)


def _lines(raw: bytes) -> Iterator[str]:
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        end = len(raw) if end < 0 else end
        yield raw[start:end].decode("utf-8", "replace").rstrip("\r")
        start = end + 1


def _rule_regex(read: Read, file: str) -> re.Pattern[str] | None:
    from pathlib import Path as FsPath

    from qv_config.secrets.config import CONFIG_NAME, SopsConfigError, parse_config

    raw = read(CONFIG_NAME)
    try:
        rules = parse_config(FsPath(CONFIG_NAME), raw.decode("utf-8")).rules if raw else ()
        rule = next((r for r in rules if r.matches(file)), None)
        return re.compile(rule.encrypted_regex) if rule and rule.encrypted_regex else None
    except (SopsConfigError, UnicodeDecodeError, re.error):
        return None  # reported by validation (QV605)


def _marks(read: Read, kind: str | None, name: str | None) -> frozenset[Path]:
    import json

    from qv_config.models import KINDS, marks_for_config_schema, marks_for_kind

    if kind == "Config" and name:
        raw = read(f"schemas/configs/{name}.schema.json")
        try:
            schema = json.loads(raw) if raw else {}
        except ValueError:
            return frozenset()
        return marks_for_config_schema(schema).secret if isinstance(schema, dict) else frozenset()
    return marks_for_kind(kind).secret if kind in KINDS else frozenset()
