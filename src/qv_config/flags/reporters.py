"""Text and JSON of ``qv flags eval`` and ``qv flags list`` (the CLI prints them).

Every name and value shown comes from the repository or the command line, so it passes
``safetext`` (control, ANSI and bidi characters escaped; long values bounded)."""

from __future__ import annotations

import dataclasses
from typing import Any

from qv_config.flags.explain import ConstraintStep, Explanation, StrategyStep
from qv_config.flags.listing import FlagListing
from qv_config.safetext import json_safe, safe


def _json(value: Any) -> str:
    import orjson

    return json_safe(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()) + "\n"


def eval_json(explanation: Explanation, env: str) -> str:
    return _json({"env": env, **dataclasses.asdict(explanation)})


def eval_text(explanation: Explanation, env: str) -> str:
    e = explanation
    if not e.found:
        return f"flag {safe(e.flag)} is not in {safe(env)}: off\n"
    lines = [f"{safe(e.flag)} in {safe(env)}: {'ON' if e.enabled else 'OFF'}"]
    lines.append(f"  variant: {safe(e.variant['name'])}" + _payload(e.variant.get("payload")))
    lines.append(f"  enabled in {safe(env)}: {'yes' if e.feature_enabled else 'no'}")
    if e.problem:
        lines.append(f"  refused as Unleash's engine refuses it: {safe(e.problem)}")
    for dep in e.dependencies:
        want = "on" if dep.expected_enabled else "off"
        got = {None: "missing or has parents", True: "on", False: "off"}[dep.parent_enabled]
        extra = (
            f" with variant in [{', '.join(safe(v) for v in dep.variants)}]" if dep.variants else ""
        )
        mark = "ok" if dep.passed else "FAILS"
        lines.append(f"  depends on {safe(dep.feature)} {want}{extra}: it is {got}: {mark}")
    if not e.strategies:
        lines.append("  no strategies: on for everyone when enabled")
    lines += [line for s in e.strategies for line in _strategy(s)]
    return "\n".join(lines) + "\n"


def _payload(payload: Any) -> str:
    if not payload:
        return ""
    return f" (payload {safe(str(payload.get('type')))}: {safe(str(payload.get('value')))})"


def _strategy(step: StrategyStep) -> list[str]:
    verdict = {True: "matches", False: "does not match", None: "random"}[step.passed]
    title = f" {safe(step.title)!r}" if step.title else ""
    lines = [f"  strategy {step.index} {safe(step.name)}{title}: {verdict}"]
    rule = {True: "pass", False: "FAIL", None: "random"}[step.rule.passed]
    lines.append(f"    rule: {safe(step.rule.detail)}: {rule}")
    lines += [f"    {_constraint(c)}" for c in step.constraints]
    return lines


def _constraint(c: ConstraintStep) -> str:
    where = f"segment {safe(c.segment)}: " if c.segment else ""
    flags = (" inverted" if c.inverted else "") + (" caseInsensitive" if c.case_insensitive else "")
    expected = ", ".join(safe(v) for v in c.expected)
    actual = "absent" if c.actual is None else f"'{safe(c.actual)}'"
    verdict = "pass" if c.passed else "FAIL"
    operator = safe(c.operator)
    return f"{where}{safe(c.context_name)} {operator}{flags} [{expected}]: {actual}: {verdict}"


def list_json(result: FlagListing) -> str:
    return _json({**dataclasses.asdict(result), "stale": list(result.stale)})


def list_text(result: FlagListing) -> str:
    header = ["flag", "type", "owner", "expires", *result.envs]
    rows = [header]
    for row in result.rows:
        expires = (row.expires or "-") + (" STALE" if row.stale else "")
        states = [s.summary for s in row.states]
        rows.append([row.name, row.type, row.owner or "-", expires, *states])
    rows = [[safe(cell) for cell in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    if result.stale:
        names = ", ".join(safe(n) for n in result.stale)
        out.append(f"stale (release flags past expires, QV450): {names}")
    return "\n".join(out) + "\n"
