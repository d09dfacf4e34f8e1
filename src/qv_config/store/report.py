"""Text and JSON views of applies, drift and the audit log (strings; cli/ prints them).

A store can be written by others (an edit made outside qv leaves any key name behind) and the
audit log holds who applied and why: every such string is escaped and clipped in text
(``safetext.safe``), and JSON is ``json_safe``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from qv_config.diff.model import FieldChange
from qv_config.safetext import EXCERPT, MESSAGE, bounded, json_safe, safe
from qv_config.store.drift import DriftReport
from qv_config.store.types import ApplyResult, AuditEntry, Meta, Plan

_LIST_LIMIT = 20


def _short(value: str | None) -> str:
    return safe(value[:12]) if value else "(none)"


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "added": list(plan.added),
        "changed": list(plan.changed),
        "removed": list(plan.deletes),
        "unchanged": plan.unchanged,
    }


def _meta_json(meta: Meta | None) -> dict[str, Any] | None:
    return dataclasses.asdict(meta) if meta else None


def _json(data: object) -> str:
    return json_safe(json.dumps(data, indent=2, sort_keys=True))


def apply_json(result: ApplyResult, store: str, drifted: Sequence[str] = ()) -> str:
    return _json(
        {
            "env": result.env,
            "store": store,
            "status": result.status,
            "from": _meta_json(result.old),
            "to": _meta_json(result.new),
            "plan": _plan_json(result.plan),
            "drifted": list(drifted),
        }
    )


def _keys(label: str, keys: Sequence[str]) -> list[str]:
    lines = [f"  {label} {safe(k)}" for k in keys[:_LIST_LIMIT]]
    if len(keys) > _LIST_LIMIT:
        lines.append(f"  … and {len(keys) - _LIST_LIMIT} more")
    return lines


def apply_text(result: ApplyResult, store: str, drifted: Sequence[str] = ()) -> str:
    plan, old = result.plan, result.old
    head = {
        "applied": "applied",
        "unchanged": "unchanged (same digest): nothing written",
        "dry-run": "dry run: nothing written",
    }[result.status]
    lines = [
        f"{safe(result.env)} → {safe(store)}: {head}",
        f"  revision {_short(old.revision if old else None)} → {_short(result.new.revision)}",
        f"  digest   {_short(old.digest if old else None)} → {_short(result.new.digest)}",
    ]
    if result.status != "unchanged":
        lines += _approval_lines(result.new)  # a dry run: what the gate would record
        lines.append(
            f"  {len(plan.added)} added, {len(plan.changed)} changed, "
            f"{len(plan.deletes)} removed, {plan.unchanged} unchanged"
        )
        lines += _keys("+", plan.added) + _keys("~", plan.changed) + _keys("-", plan.deletes)
    if drifted:
        env = safe(result.env)
        lines.append(
            f"DRIFT: {len(drifted)} key(s) edited outside qv were left as they are: "
            f"`qv drift --env {env}` shows what changed, `qv sync --env {env} --heal` restores them"
        )
        lines += _keys("~", drifted)
    return "\n".join(lines)


def _approval_lines(meta: Meta) -> list[str]:
    lines = []
    if meta.approvals:
        lines.append("  approved by " + ", ".join(safe(a) for a in meta.approvals[:_LIST_LIMIT]))
    if meta.break_glass:
        lines.append(f"  BREAK-GLASS (approvals missing): {safe(meta.break_glass, MESSAGE)}")
    return lines


def drift_json(report: DriftReport, store: str) -> str:
    return _json(
        {
            "env": report.env,
            "store": store,
            "recorded": _meta_json(report.recorded),
            "drift": report.out_of_band,
            "out_of_band": {
                "modified": list(report.modified),
                "missing": list(report.missing),
                "unexpected": list(report.unexpected),
            },
            # Each modified key's fields, deployed -> found (secret fields masked).
            "modified_fields": _fields_json(report),
            "pending": {
                "revision": report.tip_revision,
                "digest": report.tip_digest,
                **_plan_json(report.pending),
            },
        }
    )


def drift_text(report: DriftReport, store: str) -> str:
    rec = report.recorded
    lines = [
        f"{safe(report.env)} in {safe(store)}: deployed {_short(rec.revision if rec else None)}"
        f" (digest {_short(rec.digest if rec else None)})"
    ]
    if report.out_of_band:
        lines.append(
            f"DRIFT: edits made outside qv ({len(report.modified)} modified, "
            f"{len(report.missing)} missing, {len(report.unexpected)} unexpected)"
        )
        lines += (
            _modified(report)
            + _keys("missing   ", report.missing)
            + _keys("unexpected", report.unexpected)
        )
        lines.append(f"  (`qv sync --env {safe(report.env)} --heal` restores the deployed values)")
    else:
        lines.append("no drift: the store holds exactly the deployed revision")
    pending = report.pending
    if pending.empty:
        lines.append(f"no pending changes: the tip {_short(report.tip_revision)} is deployed")
    else:
        lines.append(
            f"pending (not drift; `qv sync --env {safe(report.env)}` applies them) up to "
            f"{_short(report.tip_revision)}: {len(pending.added)} added, "
            f"{len(pending.changed)} changed, {len(pending.deletes)} removed"
        )
        lines += (
            _keys("+", pending.added) + _keys("~", pending.changed) + _keys("-", pending.deletes)
        )
    return "\n".join(lines)


def _changes(report: DriftReport) -> dict[str, tuple[FieldChange, ...]]:
    """Field changes of each modified key (``{env}/{kind-slug}/{name}``)."""
    if report.fields is None:
        return {}
    return {f"{report.env}/{c.ref}": c.fields for c in report.fields.changes}


def _modified(report: DriftReport) -> list[str]:
    """Each modified key, with what changed in it: deployed → found, secrets masked."""
    changes = _changes(report)
    lines = []
    for key in report.modified[:_LIST_LIMIT]:
        lines.append(f"  modified   {safe(key)}")
        lines += [f"      {_field_text(change)}" for change in changes.get(key, ())]
    if len(report.modified) > _LIST_LIMIT:
        lines.append(f"  … and {len(report.modified) - _LIST_LIMIT} more")
    return lines


def _shown(change: FieldChange, value: object, op: str) -> str:
    if change.op == op:
        return "(absent)"
    return bounded(json.dumps(value, sort_keys=True, ensure_ascii=False), EXCERPT, EXCERPT)


def _field_text(change: FieldChange) -> str:
    where = safe(change.field)
    if change.secret:
        return f"{where}: {change.note or '(secret changed)'}"
    old, new = _shown(change, change.old, "added"), _shown(change, change.new, "removed")
    risk = f" — {change.risk}" if change.risk else ""
    return f"{where}: {old} (deployed) → {new} (found){risk}"


def _field_json(change: FieldChange) -> dict[str, Any]:
    if change.secret:
        return {"path": change.field, "secret": True, "note": change.note or "(secret changed)"}
    row: dict[str, Any] = {"path": change.field, "op": change.op, "risk": change.risk}
    if change.op != "added":
        row["deployed"] = change.old
    if change.op != "removed":
        row["found"] = change.new
    return row


def _fields_json(report: DriftReport) -> dict[str, list[dict[str, Any]]]:
    return {key: [_field_json(c) for c in fields] for key, fields in _changes(report).items()}


def history_json(entries: Sequence[AuditEntry]) -> str:
    rows = [{**dataclasses.asdict(e), "approvals": list(e.approvals)} for e in entries]
    return _json(rows)


def history_text(env: str, entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return f"no applies recorded for {safe(env)}"
    lines = []
    for e in entries:
        line = (
            f"{safe(e.at)}  {safe(e.action):<8} {_short(e.revision)} digest {_short(e.digest)}"
            f"  by {safe(e.by)}  (+{e.added} ~{e.changed} -{e.removed})"
            f"  from {_short(e.from_revision)}"
        )
        lines.append(line + _how(e))
    return "\n".join(lines)


def _how(e: AuditEntry) -> str:
    """Who approved the state, or that it went in by break-glass, then why (the reason)."""
    how = "  BREAK-GLASS (approvals missing)" if e.break_glass else ""
    if e.approvals:
        how += "  approved by " + ", ".join(safe(a) for a in e.approvals[:_LIST_LIMIT])
    return how + (f"  reason: {safe(e.reason, MESSAGE)}" if e.reason else "")
