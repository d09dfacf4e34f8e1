"""Hostile input for the output tests, and the oracles every output must satisfy.

``hostile/strings.json`` holds strings an attacker can put in a repository (values, keys, file
names, commit messages and authors): terminal escapes, bidi overrides, GitHub workflow commands,
rich markup, raw HTML and markdown. The oracles below are written from the formats' own rules
(Unicode categories, GitHub's command parser, CommonMark/GFM via markdown-it-py), not from qv's
escaping code.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from qv_config.scaffold import write_starter

HOSTILE: dict[str, str] = json.loads(
    (Path(__file__).parent / "hostile" / "strings.json").read_text(encoding="utf-8")
)
# Strings that can be file names: no "/" (a folder) and no NUL.
FILE_NAMES = {key: text for key, text in HOSTILE.items() if "/" not in text and "\0" not in text}
# Invisible or moving characters: control (Cc), format (Cf: bidi, zero-width, tags), line and
# paragraph separators, surrogates. None may reach any output raw (a newline only as layout).
UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
AUTHOR = "Ada Quant <ada@quantivista.dev>"


def raw_unsafe(text: str) -> list[str]:
    """The unsafe code points of ``text`` (newline excepted), as U+XXXX."""
    found = {ch for ch in text if ch != "\n" and unicodedata.category(ch) in UNSAFE_CATEGORIES}
    return sorted(f"U+{ord(ch):04X}" for ch in found)


def assert_inert_text(text: str, *, github: bool = False) -> None:
    """No raw unsafe character, no GitHub workflow command a runner would act on: ``::`` at
    the start of a line (after spaces, as the runner trims them) except the reporter's own
    annotations, and ``##[`` anywhere (the legacy form, matched mid-line)."""
    assert raw_unsafe(text) == [], text[:2000]
    assert "##[" not in text
    for line in text.splitlines():
        if github:
            assert re.match(r"::(error|warning) [^:]*::", line), line
        else:
            assert not line.lstrip().startswith("::"), line


def assert_markup_kept(text: str) -> None:
    """rich markup from values printed as text, never interpreted (a tag would vanish, an emoji
    code become a picture)."""
    assert "[bold red]styled[/bold red]" in text
    assert "[link=https://evil.example]click[/link]" in text
    assert ":warning: :skull:" in text


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar: visible characters as they are, the rest as
    escapes (YAML forbids raw C0, DEL, C1 and surrogates; libyaml reads U+2028 as a line break)."""
    out = []
    for ch in text:
        point = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif unicodedata.category(ch) not in UNSAFE_CATEGORIES:
            out.append(ch)
        else:
            out.append(f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}")
    return '"' + "".join(out) + '"'


def tokens(markdown: str) -> Iterator[Token]:
    """Every token of ``markdown`` (GFM tables, raw HTML enabled as GitHub allows it), nested
    inline tokens included."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    for token in parser.parse(markdown):
        yield token
        yield from token.children or ()


OUR_HTML = re.compile(
    r"(<!-- qv-review -->|<details( open)?>|</details>"
    r"|<summary><b><code>[^<>]*</code></b>: [^<>]*</summary>)"
)
# What a value may only show inside a code span: these words appear in no text of qv's own.
MARKERS = ("script", "javascript", "octocat", "evil.example", "fence", "injected", "Heading",
           "quoted", "hidden", "onerror", "styled", "fake")  # fmt: skip


def assert_inert_markdown(markdown: str, *, details: int) -> None:
    """Values stay inside code spans: no raw HTML but qv's own, ``details`` folded sections, no
    link, image, heading or list made by a value, every table row as wide as its header, and
    no marker of a hostile value in any text token."""
    assert raw_unsafe(markdown) == []
    assert "##[" not in markdown
    found = list(tokens(markdown))
    html = [t.content for t in found if t.type in ("html_block", "html_inline")]
    pieces = [piece for block in html for piece in block.split("\n") if piece.strip()]
    assert all(OUR_HTML.fullmatch(piece.strip()) for piece in pieces), pieces
    assert sum(piece.startswith("<details") for piece in pieces) == details
    assert sum(piece == "</details>" for piece in pieces) == details
    kinds = {t.type for t in found}
    assert not kinds & {"link_open", "image", "bullet_list_open", "ordered_list_open", "hr"}
    texts = " ".join(t.content for t in found if t.type == "text")
    assert not [m for m in MARKERS if m in texts], texts
    assert "@" not in texts  # an @mention outside code notifies someone
    _assert_rows(found)


def _assert_rows(found: list[Token]) -> None:
    width = 0
    cells = 0
    for token in found:
        if token.type == "thead_open":
            width = 0
        elif token.type == "th_open":
            width += 1
        elif token.type == "tr_open":
            cells = 0
        elif token.type == "td_open":
            cells += 1
        elif token.type == "tr_close" and cells:
            assert cells == width, "a value changed the number of cells of a table row"


def code_spans(markdown: str) -> list[str]:
    return [t.content for t in tokens(markdown) if t.type == "code_inline"]


def longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max(map(len, runs), default=0)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return done.stdout.decode("utf-8", "replace").strip()


def starter_repo(root: Path) -> Path:
    """The starter project committed in a fresh Git repository."""
    root.mkdir(parents=True, exist_ok=True)
    write_starter(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "CI Bot")
    git(root, "config", "user.email", "ci@quantivista.dev")
    git(root, "config", "commit.gpgsign", "false")
    commit(root, "Starter project")
    return root


def commit(root: Path, message: str, author: str = AUTHOR) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "--author", author, "-m", message)
