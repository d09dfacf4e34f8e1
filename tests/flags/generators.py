"""Hypothesis strategies of Unleash client-features states and contexts (flags tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

FIELDS = ["userId", "sessionId", "environment", "appName", "remoteAddress", "currentTime", "x", "y"]
STRINGS = ["a", "b", "A", "abc", "ABC", "x-1", "", "é", "1", "1.5", "2.0.0", "1.2.3-beta.1", "b a"]
NUMBERS = ["0", "1", "-1", "1.5", "10", "1e3", "+2", " 3", "1.", "abc", ".5", "inf"]
DATES = [
    "2020-01-01T00:00:00Z", "2030-06-01T12:00:00.123+02:00", "2025-01-01T00:00:00Z",
    "2025-01-01T00:00:00.5Z", "2025-01-01", "2024-12-31T23:00:00-01:00",
]  # fmt: skip
VERSIONS = [
    "1.0.0", "1.2.3", "1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-beta", "2.0.0+b1", "1.2", "v1.0.0",
]  # fmt: skip
PATTERNS = ["^a", "b$", "(?i)abc", "a|b", "\\d+", "(x", "[[:alpha:]]+", "^(ab)?c$", "(?=a)"]
ADDRESSES = ["10.0.0.1", "10.1.2.3", "192.168.1.20", "::1", "2001:db8::5", "not-an-ip"]
IDS = ["u1", "u2", "u3", "42", "7", "alice", "bob", "s-9"]
VALUES = STRINGS + NUMBERS + DATES + VERSIONS + ADDRESSES + IDS
NAMES = ["f0", "f1", "f2", "f3"]
OPERATORS = {
    "IN": "values", "NOT_IN": "values", "STR_CONTAINS": "values", "STR_STARTS_WITH": "values",
    "STR_ENDS_WITH": "values", "NUM_EQ": "num", "NUM_GT": "num", "NUM_GTE": "num",
    "NUM_LT": "num", "NUM_LTE": "num", "DATE_AFTER": "date", "DATE_BEFORE": "date",
    "SEMVER_EQ": "ver", "SEMVER_GT": "ver", "SEMVER_LT": "ver", "REGEX": "re",
    "NOT_AN_OP": "values", "IN_CIDR": "nets",
}  # fmt: skip
_VALUE_POOLS = {"num": NUMBERS, "date": DATES, "ver": VERSIONS, "re": PATTERNS}


@st.composite
def constraints(draw: st.DrawFn) -> dict[str, Any]:
    operator = draw(st.sampled_from(sorted(OPERATORS)))
    out: dict[str, Any] = {"contextName": draw(st.sampled_from(FIELDS)), "operator": operator}
    kind = OPERATORS[operator]
    if kind == "nets":
        nets = ["10.0.0.0/8", "192.168.1.20", "::1", "2001:db8::/32", "nope", "10.0.0.1/8"]
        out["values"] = draw(st.lists(st.sampled_from(nets), max_size=3))
    elif kind == "values":
        out["values"] = draw(st.lists(st.sampled_from(VALUES), max_size=4))
    else:
        out["value"] = draw(st.sampled_from(_VALUE_POOLS[kind]))
    if draw(st.booleans()):
        out["inverted"] = draw(st.booleans())
    if draw(st.booleans()):
        out["caseInsensitive"] = draw(st.booleans())
    return out


PERCENT = st.sampled_from(["0", "1", "10", "25", "50", "99", "100", "5.5", "+7", "abc", "101"])
STICKY = st.sampled_from(["default", "userId", "sessionId", "x", "appName", "random"])


@st.composite
def parameters(draw: st.DrawFn, name: str) -> dict[str, str]:
    group = st.sampled_from(["g1", "g2", "f0", "group with space"])
    if name == "flexibleRollout":
        params = {"rollout": draw(PERCENT), "stickiness": draw(STICKY)}
        if draw(st.booleans()):
            params["groupId"] = draw(group)
        return params
    if name in ("gradualRolloutUserId", "gradualRolloutSessionId"):
        return {"percentage": draw(PERCENT), "groupId": draw(group)}
    if name == "gradualRolloutRandom":
        return {"percentage": draw(st.sampled_from(["0", "100", "150"]))}
    if name == "userWithId":
        return {"userIds": ",".join(draw(st.lists(st.sampled_from([*IDS, " u1 "]), max_size=4)))}
    if name == "remoteAddress":
        nets = ["10.0.0.0/8", "192.168.1.20", "::1", "2001:db8::/32", "nope", "10.0.0.1/8"]
        return {"IPs": ", ".join(draw(st.lists(st.sampled_from(nets), max_size=3)))}
    if name == "applicationHostname":
        return {"hostNames": "no-such-host-a,no-such-host-b"}
    return {}


@st.composite
def weighted(draw: st.DrawFn, sticky: bool) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 3))
    out = []
    for index in range(count):
        variant: dict[str, Any] = {
            "name": f"v{index}",
            "weight": draw(st.sampled_from([0, 1, 50, 333, 500, 1000])),
            "weightType": "variable",
        }
        if draw(st.booleans()):
            variant["payload"] = {"type": "string", "value": f"p{index}"}
        if sticky and index == 0 and draw(st.booleans()):
            variant["stickiness"] = draw(STICKY)
        if sticky and draw(st.integers(0, 4)) == 0:
            field = draw(st.sampled_from(["userId", "x", "appName", "currentTime"]))
            listed = draw(st.lists(st.sampled_from(VALUES), max_size=3))
            variant["overrides"] = [{"contextName": field, "values": listed}]
        out.append(variant)
    if out and sum(v["weight"] for v in out) == 0:
        out[0]["weight"] = 1  # an all-zero table makes the engine fail, not answer
    return out


@st.composite
def strategies_(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(
        st.sampled_from(
            ["default", "userWithId", "gradualRolloutUserId", "gradualRolloutSessionId",
             "gradualRolloutRandom", "flexibleRollout", "remoteAddress", "applicationHostname",
             "customThing"]
        )
    )  # fmt: skip
    out: dict[str, Any] = {"name": name, "parameters": draw(parameters(name))}
    if draw(st.booleans()):
        out["constraints"] = draw(st.lists(constraints(), max_size=3))
    if draw(st.integers(0, 3)) == 0:
        out["segments"] = draw(st.lists(st.sampled_from([1, 2, 9]), max_size=2))
    if draw(st.integers(0, 2)) == 0:
        out["variants"] = draw(weighted(sticky=False))
    return out


@st.composite
def features(draw: st.DrawFn, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "enabled": draw(st.integers(0, 4)) > 0,
        "strategies": draw(st.lists(strategies_(), max_size=3)),
    }
    if draw(st.booleans()):
        out["variants"] = draw(weighted(sticky=True))
    if draw(st.integers(0, 2)) == 0:
        dependency: dict[str, Any] = {"feature": draw(st.sampled_from([*NAMES, "missing"]))}
        if draw(st.booleans()):
            dependency["enabled"] = draw(st.booleans())
        if draw(st.booleans()):
            dependency["variants"] = draw(st.lists(st.sampled_from(["v0", "v1", "v2"]), max_size=2))
        if dependency["feature"] != name:
            out["dependencies"] = [dependency]
    return out


@st.composite
def states(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, len(NAMES)))
    segments = [
        {"id": 1, "name": "s1", "constraints": draw(st.lists(constraints(), max_size=2))},
        {"id": 2, "name": "s2", "constraints": draw(st.lists(constraints(), max_size=2))},
    ]
    return {
        "version": 2,
        "features": [draw(features(NAMES[i])) for i in range(count)],
        "segments": segments,
    }


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for field in ("userId", "sessionId"):
        if draw(st.booleans()):
            ctx[field] = draw(st.sampled_from(IDS))
    for field, pool in (
        ("environment", STRINGS), ("appName", STRINGS), ("remoteAddress", ADDRESSES),
        ("currentTime", DATES),
    ):  # fmt: skip
        if draw(st.integers(0, 2)) == 0:
            ctx[field] = draw(st.sampled_from(pool))
    properties = {f: draw(st.sampled_from(VALUES)) for f in ("x", "y") if draw(st.booleans())}
    if properties:
        if draw(st.booleans()):
            ctx["properties"] = properties
        else:
            ctx.update(properties)  # flat custom fields
    return ctx
