"""Findings about encrypted files that the core's validation can report (QV6xx).

``QV602`` (warning): a file is encrypted to recipients other than those its ``.sops.yaml`` rule
names now — someone was added or removed but the file was not re-encrypted.
"""

from __future__ import annotations

from qv_config.findings import Finding, Severity
from qv_config.secrets.config import SopsConfig
from qv_config.secrets.sopsfile import SopsMeta

STALE_RECIPIENTS = "QV602"


def recipient_finding(
    relative: str, meta: SopsMeta | None, config: SopsConfig | None, env: str | None = None
) -> Finding | None:
    """A QV602 warning when ``meta``'s recipients differ from the rule for ``relative``."""
    if meta is None or config is None:
        return None
    rule = next((r for r in config.rules if r.matches(relative)), None)
    want = set(rule.age) if rule else set()
    have = set(meta.recipients)
    if have == want:
        return None
    if not want:
        message = (
            f"encrypted to {', '.join(sorted(have)) or 'no age recipient'}, but no"
            " creation rule in .sops.yaml names recipients for this path; add a rule,"
            " then run `qv secrets rotate`"
        )
    else:
        parts = [
            f"{label} {', '.join(sorted(keys))}"
            for label, keys in (("missing", want - have), ("no longer named", have - want))
            if keys
        ]
        message = (
            f"encrypted to recipients other than .sops.yaml names ({'; '.join(parts)});"
            f" run `qv secrets rotate {relative}`"
        )
    return Finding(STALE_RECIPIENTS, message, relative, severity=Severity.WARNING, env=env)
