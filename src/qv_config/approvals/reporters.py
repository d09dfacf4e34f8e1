"""Reporters of ``qv approvals``, chosen by name: ``text``, ``json``, ``markdown``.

Everything that came from the repository or its refs (ref names, approvers, ssh-keygen's words,
forge logins) passes ``safetext`` before it is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict

from qv_config.approvals.model import Verdict
from qv_config.errors import UsageError
from qv_config.safetext import bounded, safe

Reporter = Callable[[Sequence[Verdict]], str]


def get(name: str) -> Reporter:
    table: dict[str, Reporter] = {"text": text, "json": to_json, "markdown": markdown}
    if name not in table:
        raise UsageError(f"unknown format {name!r}", hint="choose text, json or markdown")
    return table[name]


def _state(v: Verdict) -> str:
    return "met" if v.met else "NOT MET"


def text(verdicts: Sequence[Verdict]) -> str:
    return "\n\n".join(_text_one(v) for v in verdicts) + "\n"


def _text_one(v: Verdict) -> str:
    lines = [
        f"{v.env}: approvals {_state(v)} — {bounded(v.reason)}",
        f"  base {v.base_rev[:12]}{_why(v)} ({v.base_digest[:12]}) → target {v.target_rev[:12]}"
        f" ({v.target_digest[:12]}), policy {v.policy} ({v.policy_digest[:12]})",
    ]
    for rule in v.rules:
        mark = "✓" if rule.met else "✗"
        why = ", ".join(rule.because)
        who = ", ".join(safe(a) for a in rule.approvers) or "nobody yet"
        lines.append(f"  {mark} {rule.rule} ({why}): {len(rule.approvers)}/{rule.count} — {who}")
    for a in v.approvals:
        lines.append(f"    approved: {safe(a.principal)} via {a.source} ({safe(a.key)})")
    for r in v.refused:
        claimed = f" {safe(r.claimed)}" if r.claimed else ""
        lines.append(
            f"    refused:{claimed} via {r.source} at {safe(r.where)}: {bounded(r.reason)}"
        )
    lines += [f"  note: {bounded(note)}" for note in v.notes]
    return "\n".join(lines)


def _why(v: Verdict) -> str:
    return f" [{v.base_source}]" if v.base_source else ""


def to_json(verdicts: Sequence[Verdict]) -> str:
    data = [_data(v) for v in verdicts]
    return json.dumps({"met": all(v.met for v in verdicts), "environments": data}, indent=2)


def _data(v: Verdict) -> dict[str, object]:
    out = asdict(v)
    out["rules"] = [{**asdict(r), "met": r.met, "missing": r.missing} for r in v.rules]
    out["approvers"] = list(v.approvers)
    out["missing"] = list(v.missing)
    return {key: _safe(value) for key, value in out.items()}


def _safe(value: object) -> object:
    from qv_config.safetext import json_safe

    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return json_safe(value) if isinstance(value, str) else value


def markdown(verdicts: Sequence[Verdict]) -> str:
    lines = ["### Approvals", "", "| environment | state | still needed |", "|---|---|---|"]
    for v in verdicts:
        needed = "; ".join(_md(m) for m in v.missing) or "—"
        lines.append(f"| {v.env} | {'✅ met' if v.met else '❌ not met'} | {needed} |")
    for v in verdicts:
        if v.rules or v.refused or v.notes:  # approvals only come with rules
            lines += ["", f"<details><summary>{v.env}</summary>", "", _md_rules(v), "</details>"]
    return "\n".join(lines) + "\n"


def _md_rules(v: Verdict) -> str:
    rows = ["| rule | changes | approvers | count |", "|---|---|---|---|"]
    for rule in v.rules:
        who = ", ".join(_md(a) for a in rule.approvers) or "—"
        rows.append(
            f"| {rule.rule} | {', '.join(rule.because)} | {who} | "
            f"{len(rule.approvers)}/{rule.count} |"
        )
    rows += [
        f"\n- refused {_md(r.claimed or r.where)} ({r.source}): {_md(r.reason)}" for r in v.refused
    ]
    rows += [f"\n- approved {_md(a.principal)} via {a.source} ({_md(a.key)})" for a in v.approvals]
    rows += [f"\n- note: {_md(note)}" for note in v.notes]
    return "\n".join(rows) + "\n"


def _md(text: str) -> str:
    return safe(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
