"""Source lines that hold a secret in plaintext, masked before a reporter shows them (SPEC §8).

A QV601 finding says "this field is secret and holds plaintext": its message names the field
only, but the text reporter prints the source line under each finding, and that line holds the
value. Every finding on such a line (QV601 itself, a schema finding on the same field) shows it
with the value replaced; the key stays, so a person still sees where to look.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qv_config.findings import Finding

# Findings whose line holds a plaintext secret: QV601 (x-qv-secret field), QV607 (a key the
# .sops.yaml rule encrypts; `qv secrets check`).
SECRET_VALUE_CODES = frozenset({"QV601", "QV607"})
MASK = "********"
# A mapping key at the start of the text (plain or quoted), then ":" and a space or the end.
KEY = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s:][^:]*?)\s*:(?=\s|$)""")


def secret_lines(findings: Iterable[Finding]) -> dict[tuple[str, int], int]:
    """(file, line) -> column of the secret's key, for every line a secret finding points at."""
    return {
        (f.file, f.line): f.col for f in findings if f.code in SECRET_VALUE_CODES and f.line > 0
    }


def masked(text: str, col: int) -> str:
    """``text`` with everything after the key at ``col`` (1-based) replaced by ``MASK``.

    Text before the key is kept when it is only indentation or a list dash; anything else there
    (a flow mapping may hold another secret before this one) is masked too.
    """
    if col <= 0:
        return MASK
    head, rest = text[: col - 1], text[col - 1 :]
    if head.strip() not in ("", "-"):
        head = head[: len(head) - len(head.lstrip())] + "… "
    key = KEY.match(rest)
    return f"{head}{key.group(0)} {MASK}" if key else f"{head}{MASK}"
