"""The ``text`` reporter, for people: findings grouped by file, each with its source line.

Findings that differ only by environment are shown once ("in dev, staging, prod"). Colour is plain
ANSI, added only when the CLI asks for it (a TTY without NO_COLOR), so piped output stays clean.
File names and source lines come from the repository: escaped, and a source line is shown as a
window of EXCERPT characters around the finding's column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from qv_config.findings import Severity
from qv_config.report.fold import Folded, fold
from qv_config.report.mask import masked, secret_lines
from qv_config.report.secretlines import SecretLines, for_file
from qv_config.safetext import ELLIPSIS, EXCERPT, escape, safe

if TYPE_CHECKING:
    from qv_config.report import Reader
    from qv_config.validate.types import ValidationResult

_STYLES = {"bold": "1", "red": "31", "yellow": "33", "dim": "2", "cyan": "36", "green": "32"}
Paint = Callable[[str, str], str]


def _painter(color: bool) -> Paint:
    if not color:
        return lambda text, _style: text
    return lambda text, style: f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


class _Sources:
    """Source lines of files with findings, cut from their bytes as asked (a 50 MB file with a
    finding on line 1 is not decoded and split whole just to show that line)."""

    def __init__(
        self,
        read: Reader | None,
        secrets: dict[tuple[str, int], int],
        named: Mapping[str, tuple[str | None, str | None]],
    ) -> None:
        self._read = read
        self._secrets = secrets  # lines holding a plaintext secret: shown masked (report.mask)
        self._named = named  # file -> (kind, name) of its document, as a finding names it
        self._keys: dict[str, SecretLines] = {}  # lines at or under a secret key (any finding)
        self._raw: dict[str, bytes] = {}
        self._starts: dict[str, list[int]] = {}  # offsets of the lines found so far

    def line(self, file: str, number: int, col: int) -> str | None:
        """Line ``number`` of ``file`` as far as column ``col`` and a window past it."""
        if self._read is None or not file or number <= 0:
            return None
        if file not in self._raw:
            self._raw[file] = self._read(file) or b""
            self._starts[file] = [0]
        raw, starts = self._raw[file], self._starts[file]
        while len(starts) < number and starts[-1] < len(raw):
            end = raw.find(b"\n", starts[-1])
            starts.append(len(raw) if end < 0 else end + 1)
        if len(starts) < number or starts[number - 1] >= len(raw):
            return None
        begin = starts[number - 1]
        most = 4 * (max(col, 1) + EXCERPT) + 4  # UTF-8: at most 4 bytes a character
        end = raw.find(b"\n", begin, begin + most)
        chunk = raw[begin : end if end >= 0 else begin + most]
        text = chunk.decode("utf-8", "replace").rstrip("\r")
        at = self._secrets.get((file, number)) or self._key_lines(file).column(number)
        return text if at is None else masked(text, at)

    def _key_lines(self, file: str) -> SecretLines:
        if file not in self._keys:
            assert self._read is not None
            named = self._named.get(file, (None, None))
            self._keys[file] = for_file(self._read, file, self._raw[file], named)
        return self._keys[file]


def window(line: str, col: int) -> tuple[str, int]:
    """At most EXCERPT characters of a source line around column ``col`` (1-based), escaped,
    and the offset of the caret under it."""
    at = max(col - 1, 0)
    start = 0 if at < EXCERPT * 3 // 4 else at - EXCERPT // 4
    piece = line[start : start + EXCERPT]
    head = ELLIPSIS if start else ""
    tail = ELLIPSIS if len(line) > start + EXCERPT else ""
    return head + escape(piece) + tail, len(head) + len(escape(piece[: at - start]))


def _entry(entry: Folded, sources: _Sources, paint: Paint) -> list[str]:
    f = entry.finding
    style = "red" if f.severity is Severity.ERROR else "yellow"
    where = f"{f.line}:{f.col}" if f.line else "-"
    context = [f"{f.kind.lower()}/{f.name}" if f.kind and f.name else "", f.field]
    detail = " ".join(part for part in context if part)
    envs = f"in {entry.env_text}" if entry.envs else ""
    tail = "; ".join(part for part in (detail, envs) if part)
    head = (
        f"  {where:>7}  {paint(f'{f.severity.value:<7}', style)}  {paint(f.code, 'bold')}  "
        f"{f.message}" + (f"  {paint(f'({tail})', 'dim')}" if tail else "")
    )
    out = [head]
    source = sources.line(f.file, f.line, f.col)
    if source is not None:
        shown, caret = window(source, f.col)
        gutter = f"{f.line:>9} | "
        out.append(paint(gutter, "dim") + shown.rstrip())
        out.append(paint(" " * (len(gutter) - 2) + "| ", "dim") + paint(" " * caret + "^", style))
    return out


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(result: ValidationResult, entries: list[Folded], paint: Paint) -> str:
    envs = ", ".join(safe(env) for env in result.environments)
    if not entries:
        where = f"in {_plural(len(result.environments), 'environment')}"
        # A PATH of files that are no document (policy/allowed_signers) still says what it read.
        what = (
            _plural(result.files, "file")
            if result.files and not result.documents
            else _plural(result.documents, "document")
        )
        return paint(f"✓ valid: {what} {where}", "green")
    errors = sum(1 for e in entries if e.finding.is_error)
    files = len({e.finding.file for e in entries})
    text = (
        f"{_plural(errors, 'error')}, {_plural(len(entries) - errors, 'warning')} in "
        f"{_plural(files, 'file')} (environments: {envs})"
    )
    return paint(text, "red" if errors else "yellow")


def render(result: ValidationResult, *, read: Reader | None = None, color: bool = False) -> str:
    paint = _painter(color)
    entries = fold(result.findings, result.environments)
    named = {f.file: (f.kind, f.name) for f in reversed(result.findings) if f.kind}
    sources = _Sources(read, secret_lines(result.findings), named)
    lines: list[str] = []
    by_file: dict[str, list[Folded]] = {}
    for entry in entries:
        by_file.setdefault(entry.finding.file, []).append(entry)
    for file, group in by_file.items():
        lines.append(paint(safe(file) if file else "(project)", "bold"))
        for entry in group:
            lines += _entry(entry, sources, paint)
        lines.append("")
    lines.append(summary_line(result, entries, paint))
    return "\n".join(lines) + "\n"
