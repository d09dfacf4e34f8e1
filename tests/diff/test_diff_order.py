"""A reorder of a name-keyed list is a change (an ExecutionPolicy's first matching rule wins):
`qv diff` (text, markdown, json, --exit-code), `qv review` and `qv log` show it, marked as such;
so does a float's sign. Real Git history of the starter project, the CLI in process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Qv = Callable[..., Any]
Repo = Any
POLICY = "environments/dev/execution-policies/equity-default.yaml"
RULES = ("large-illiquid", "small", "closing")


def _policy(rules: tuple[str, ...], participation: str = "10") -> str:
    items = "".join(f"    - {{name: {name}, algorithm: dma}}\n" for name in rules)
    return (
        "apiVersion: qv/v1\nkind: ExecutionPolicy\n"
        "metadata: {name: equity-default, owner: team-execution}\n"
        f"spec:\n  default: {{algorithm: vwap, params: {{max_participation_pct: {participation}}}}}"
        f"\n  rules:\n{items}"
    )


def _reordered(repo: Repo) -> None:
    repo.write(POLICY, _policy(RULES))
    repo.commit("Execution policy")
    repo.write(POLICY, _policy((RULES[2], RULES[0], RULES[1])))
    repo.commit("Closing auction rule first")


def test_diff_shows_a_reorder_in_every_format(repo: Repo, qv: Qv) -> None:
    _reordered(repo)
    text = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD")
    assert text.code == 0, text.err
    assert "0 added, 0 removed, 1 changed" in text.out
    assert (
        'spec.rules: order changed: ["large-illiquid", "small", "closing"] → '
        '["closing", "large-illiquid", "small"]'
    ) in text.out
    markdown = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD", "--format", "markdown")
    assert "| `spec.rules` | `order changed: [" in markdown.out
    data = json.loads(qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD", "--format", "json").out)
    assert data["summary"]["changed"] == 1
    (change,) = data["changes"]
    assert change["ref"] == "execution-policy/equity-default"
    (field,) = change["fields"]
    assert (field["path"], field["op"]) == ("spec.rules", "reordered")
    assert field["old"] == list(RULES)
    assert field["new"] == ["closing", "large-illiquid", "small"]
    assert qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD", "--exit-code").code == 1


def test_review_and_log_show_a_reorder(repo: Repo, qv: Qv) -> None:
    _reordered(repo)
    review = json.loads(qv(repo.root, "review", "--base", "HEAD~1", "--format", "json").out)
    assert review["environments"]["dev"]["summary"]["changed"] == 1
    (field,) = review["environments"]["dev"]["changes"][0]["fields"]
    assert (field["path"], field["op"]) == ("spec.rules", "reordered")
    markdown = qv(repo.root, "review", "--base", "HEAD~1", "--format", "markdown").out
    assert "`order changed: [" in markdown
    log = qv(repo.root, "log", "--env", "dev", "-n", "1")
    assert log.code == 0, log.err
    assert "Closing auction rule first" in log.out
    assert "spec.rules: order changed:" in log.out


def test_a_sign_of_zero_is_a_change(repo: Repo, qv: Qv) -> None:
    repo.write(POLICY, _policy(RULES, "0.0"))
    repo.commit("Zero")
    repo.write(POLICY, _policy(RULES, "-0.0"))
    repo.commit("Minus zero")
    done = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD", "--exit-code")
    assert done.code == 1
    assert "spec.default.params.max_participation_pct: 0.0 → -0.0" in done.out


def test_a_reorder_and_nothing_else_is_no_longer_invisible(repo: Repo, qv: Qv) -> None:
    """The digest changes with the order: so must the diff (the sync would write it)."""
    _reordered(repo)
    digests = [
        json.loads(qv(repo.root, "render", "--env", "dev", "--rev", rev, "--format", "json").out)
        for rev in ("HEAD~1", "HEAD")
    ]
    key = "dev/execution-policy/equity-default"
    assert digests[0][key]["spec"]["rules"] != digests[1][key]["spec"]["rules"]
    assert "no differences" not in qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD").out
