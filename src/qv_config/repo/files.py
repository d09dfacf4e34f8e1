"""The one rule for which repository files qv reads: the same in the work tree and at a revision.

- A **symbolic link** is read as the file it names when that file is a regular file in the
  link's own *area*, reached through real folders: the same ``environments/<env>/`` folder, or
  the same top-level folder (``templates/``, ``schemas/``, ``policy/``, a bases folder). qv's
  caches, ``qv drift`` and the agent key an environment's state by those folders' Git tree ids,
  so a link that stays in its area can never hide a change from them. Any other link is never
  read, and is finding QV111 naming the link (never its target's content or path): a target
  outside the repository (absolute, above the root, into a hidden entry such as ``.git/``), in
  another area, dangling, a folder (qv follows no folder link, so both sources list the same
  files), or a chain of more than ``MAX_LINKS`` links. Targets are resolved by their text, never
  by asking the filesystem about anything outside the root.
- A **file or folder name** holding a control character (a newline, ESC...), a bidirectional-text
  control or bytes that are not UTF-8 is finding QV112 and is not read; the finding shows the
  name escaped (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff`` for an undecodable byte).
- Names starting with ``.`` are not configuration (``.sops.yaml`` at the root is read by name).

Both sources answer ``lookup(path) -> (kind, link target)`` for a project-relative path (the work
tree with ``lstat``, a revision with its tree objects); ``locate`` applies the rule on top.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from qv_config.errors import CheckFailed
from qv_config.findings import Finding
from qv_config.safetext import escape as escape_text

Kind = Literal["file", "dir", "link", "other", "missing"]
Lookup = Callable[[str], tuple[Kind, str]]

MAX_LINKS = 8
LINK_CODE = "QV111"
NAME_CODE = "QV112"

OUTSIDE = "points outside the repository"  # absolute, above the root, or into a hidden entry
FOLDER = "points to a folder (qv follows no folder link)"
AREA = "points outside {area} (a link is read only within its own environment or top-level folder)"
DANGLING = "points to no regular file inside the repository"
LOOP = f"starts a chain of more than {MAX_LINKS} links (or a loop)"

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BAD_CATEGORIES = frozenset(("Cc", "Cs", "Zl", "Zp"))


@dataclass(frozen=True, slots=True)
class Refused:
    """A path qv does not read, and why (``code``: QV111 link, QV112 name)."""

    path: str  # as it is in the tree (may hold the very characters QV112 is about)
    code: str
    reason: str

    def finding(self) -> Finding:
        name = escape(self.path)
        if self.code == NAME_CODE:
            message = (
                f"the name {name} holds {self.reason}; qv does not read it: rename it "
                "(letters, digits, '-', '_', '.', '/')"
            )
        else:
            message = (
                f"{name} is a symbolic link that {self.reason}; qv does not read it: commit the"
                " file itself, or a link to a file inside the repository"
            )
        return Finding(self.code, message, name)


class RefusedFile(CheckFailed):
    """A read of a file the rule refuses (exit 1): carries the finding."""

    def __init__(self, refused: Refused) -> None:
        self.refused = refused
        found = refused.finding()
        super().__init__(found.message, hint=None)


def name_problem(name: str) -> str | None:
    """What is wrong with a file or folder name, or None (fast for ordinary names)."""
    if name.isprintable():
        return None
    for char in name:
        if char == "\n":
            return "a newline"
        if "\udc80" <= char <= "\udcff":
            return "bytes that are not UTF-8"
        if char in _BIDI:
            return "a bidirectional-text control character"
        category = unicodedata.category(char)
        if category in _BAD_CATEGORIES:
            return "a control character"
        if category == "Cf":  # zero-width and tag characters: two names that look the same
            return "an invisible format character"
    return None  # non-printable but harmless (e.g. a no-break space)


def bad_name(path: str) -> Refused | None:
    """The first component of ``path`` whose name is refused, as a QV112 ``Refused``."""
    if path.isprintable():
        return None
    parts = path.split("/")
    for at, part in enumerate(parts):
        reason = name_problem(part)
        if reason is not None:
            return Refused("/".join(parts[: at + 1]), NAME_CODE, reason)
    return None


def escape(path: str) -> str:
    """``path`` as reports show it: ``safetext.escape`` with ``\\`` doubled, so that a name
    that holds an escape's text cannot pass for the escaped name of another file."""
    return escape_text(path.replace("\\", "\\\\"))


def hidden(path: str) -> bool:
    """A path through a hidden entry (``.git/``, ``.qv/``): not configuration."""
    return path.startswith(".") or "/." in path


def readable_name(path: str) -> bool:
    """A project-relative path qv may be asked to read by name: inside the root, not hidden
    (``.sops.yaml`` at the root excepted), no refused character."""
    if not path or path.startswith("/") or ".." in path.split("/"):
        return False
    return (path == ".sops.yaml" or not hidden(path)) and bad_name(path) is None


def join(folder: str, target: str) -> str | None:
    """The project-relative path a link in ``folder`` names, or None when it leaves the root
    (absolute, above it) or goes through a hidden entry."""
    if target.startswith("/") or not target:
        return None
    parts = folder.split("/") if folder else []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part.startswith("."):
            return None
        else:
            parts.append(part)
    return "/".join(parts) if parts else None


def area(path: str) -> str:
    """The part of the repository a link at ``path`` may point into: ``environments/<env>``
    under an environment, else its top-level folder ("" at the root: nowhere)."""
    parts = path.split("/")
    if parts[0] == "environments":
        return "/".join(parts[:2]) if len(parts) > 2 else ""
    return parts[0] if len(parts) > 1 else ""


def locate(path: str, lookup: Lookup, hops: int = 0) -> tuple[Kind, str] | Refused:
    """(kind, real path) of ``path``, links followed by the rule; a link the rule refuses (on
    the way or at the end) is ``Refused`` naming that link. ``kind`` is never "link"."""
    real = ""
    parts = path.split("/")
    last = len(parts) - 1
    for at, name in enumerate(parts):
        here = f"{real}/{name}" if real else name
        kind, target = lookup(here)
        if kind == "link":
            found = _follow(here, target, lookup, hops)
            if isinstance(found, Refused):
                return found
            kind, here = found
        if at < last and kind != "dir":
            return "missing", here
        real = here
    return kind, real


def checked(path: str, lookup: Lookup, problems: dict[str, Refused]) -> tuple[Kind, str] | None:
    """``locate``; a refusal is recorded in ``problems`` (by path, first reason kept) and None
    returned. A refused name is never located: a file asked for by name (a diff asks for the
    files a commit changed) is refused as a listing refuses it."""
    found = locate(path, lookup)
    if not isinstance(found, Refused) and found[0] != "missing":
        found = bad_name(path) or found
    if isinstance(found, Refused):
        problems.setdefault(found.path, found)
        return None
    return found


def _follow(link: str, target: str, lookup: Lookup, hops: int) -> tuple[Kind, str] | Refused:
    if hops >= MAX_LINKS:
        return Refused(link, LINK_CODE, LOOP)
    folder = link.rpartition("/")[0]
    dest = join(folder, target)
    if dest is None:
        return Refused(link, LINK_CODE, OUTSIDE)
    home = area(link)
    if not dest.startswith(f"{home}/"):
        return Refused(link, LINK_CODE, AREA.format(area=f"{home}/" if home else "its folder"))
    if bad_name(dest) is not None:
        return Refused(link, LINK_CODE, DANGLING)
    found = locate(dest, lookup, hops + 1)
    if isinstance(found, Refused):
        return Refused(link, LINK_CODE, found.reason)
    if found[0] == "dir":
        return Refused(link, LINK_CODE, FOLDER)
    if found[0] != "file":
        return Refused(link, LINK_CODE, DANGLING)
    return found
