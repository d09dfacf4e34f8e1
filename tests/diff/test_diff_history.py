"""`qv diff`, `qv review` and `qv log` on real Git histories of the starter project."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

# Fixture types live in conftest.py (not importable under --import-mode=importlib).
Qv = Callable[..., Any]
Repo = Any
TEMPLATE = "templates/service/python.yaml"
PROD_SERVICE = "environments/prod/configs/example-service.yaml"


def _template_edit(repo: Repo) -> str:
    """A feature branch whose only commit edits a template: prod's files are not touched."""
    repo.git("checkout", "-q", "-b", "feature/workers")
    repo.replace(TEMPLATE, "replicas * 2", "replicas * 4")
    return str(repo.commit("Double the workers of every Python service"))


def test_template_edit_shows_in_review_of_prod(repo: Repo, qv: Qv) -> None:
    base = repo.git("rev-parse", "main")
    _template_edit(repo)
    assert PROD_SERVICE not in repo.git("diff", "--name-only", "main", "HEAD")
    done = qv(repo.root, "review", "--base", base, "--format", "json")
    assert done.code == 0, done.err
    envs = json.loads(done.out)["environments"]
    prod = envs["prod"]["changes"]
    assert [c["ref"] for c in prod] == ["config/example-service"]
    (workers,) = prod[0]["fields"]
    assert (workers["path"], workers["old"], workers["new"]) == ("spec.runtime.workers", 6, 12)
    assert set(envs) == {"dev", "staging", "prod"}


def test_template_edit_shows_in_log_of_prod(repo: Repo, qv: Qv) -> None:
    repo.replace("environments/dev/configs/example-service.yaml", "team-platform", "team-dev")
    repo.commit("Dev only: owner")
    sha = _template_edit(repo)
    done = qv(repo.root, "log", "--env", "prod", "--format", "json")
    assert done.code == 0, done.err
    entries = json.loads(done.out)
    # The dev-only commit never changed prod; the template edit and the first commit did.
    assert [e["subject"] for e in entries] == [
        "Double the workers of every Python service",
        "Starter project",
    ]
    top = entries[0]
    assert top["commit"] == sha
    assert top["author"] == "Ada Quant"
    assert top["email"] == "ada@quantivista.dev"
    assert top["date"][:4].isdigit()
    assert top["diff"]["changes"][0]["fields"][0]["path"] == "spec.runtime.workers"
    text = qv(repo.root, "log", "--env", "prod", "-n", "1")
    assert "Author: Ada Quant <ada@quantivista.dev>" in text.out
    assert "Double the workers" in text.out
    assert "spec.runtime.workers: 6 → 12" in text.out


def test_log_selector_and_limit(repo: Repo, qv: Qv) -> None:
    repo.replace(PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 2500000")
    repo.commit("Prod service limit")
    repo.replace(
        "strategies/example-momentum.yaml",
        "lookback_days: {type: int, value: 120",
        "lookback_days: {type: int, value: 90",
    )
    repo.commit("Shorter lookback")
    flags = qv(repo.root, "log", "--env", "prod", "config/*", "--format", "json")
    assert [e["subject"] for e in json.loads(flags.out)] == [
        "Prod service limit",
        "Starter project",
    ]
    one = qv(repo.root, "log", "--env", "prod", "-n", "1", "--format", "json")
    assert [e["subject"] for e in json.loads(one.out)] == ["Shorter lookback"]


def _loosen(repo: Repo) -> None:
    repo.replace(PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 5000000")
    repo.replace(
        "environments/prod/risk-policies/example-standard.yaml",
        "max_drawdown_pct: 10",
        "max_drawdown_pct: 9",
    )


def test_loosened_limit_is_marked_and_first_in_every_format(repo: Repo, qv: Qv) -> None:
    _loosen(repo)
    text = qv(repo.root, "diff", "prod@main", "prod")
    assert text.code == 0
    assert "2,000,000 → 5,000,000  LOOSENED" in text.out
    assert "TIGHTENED" in text.out
    assert text.out.index("LOOSENED") < text.out.index("TIGHTENED")
    data = json.loads(qv(repo.root, "diff", "prod@main", "prod", "--format", "json").out)
    first = data["changes"][0]
    assert first["ref"] == "config/example-service"
    assert first["fields"][0]["risk"] == "loosened"
    assert data["changes"][1]["fields"][0]["risk"] == "tightened"
    assert data["summary"]["loosened"] == 1
    md = qv(repo.root, "diff", "prod@main", "prod", "--format", "markdown").out
    assert "| `spec.max_order_notional` | `2,000,000 → 5,000,000` | **loosened** |" in md
    assert md.index("loosened") < md.index("tightened")


def test_env_specific_fields_left_out_between_environments(repo: Repo, qv: Qv) -> None:
    plain = json.loads(qv(repo.root, "diff", "staging", "prod", "--format", "json").out)
    every = json.loads(qv(repo.root, "diff", "staging", "prod", "--all", "--format", "json").out)

    def paths(data: dict[str, object]) -> set[str]:
        changes = data["changes"]
        assert isinstance(changes, list)
        return {f["path"] for c in changes for f in c["fields"]}

    assert "spec.endpoints.http" not in paths(plain)
    assert "spec.capital" not in paths(plain)
    assert {"spec.endpoints.http", "spec.capital"} <= paths(every)
    # The two Environment documents are compared with each other, not added and removed (the
    # starter's env_specific leaves their metadata and spec out unless --all).
    assert "environment/prod" not in {c["ref"] for c in plain["changes"]}
    assert "environment/prod" in {c["ref"] for c in every["changes"]}
    assert all(c["op"] == "changed" for c in every["changes"])


def test_exit_code(repo: Repo, qv: Qv) -> None:
    same = qv(repo.root, "diff", "prod@main", "prod", "--exit-code")
    assert (same.code, same.out.strip()) == (0, "no differences between prod@main and prod")
    _loosen(repo)
    differ = qv(repo.root, "diff", "prod@main", "prod", "--exit-code")
    assert differ.code == 1
    assert differ.err == ""  # differences are the answer asked for, not an error
    assert "prod@main → prod" in differ.out
    assert qv(repo.root, "diff", "prod@main", "prod").code == 0


def test_review_markdown_renders_table_and_sections(repo: Repo, qv: Qv) -> None:
    _template_edit(repo)
    _loosen(repo)  # uncommitted: review compares with the work tree
    done = qv(repo.root, "review", "--format", "markdown")  # default base: merge-base with main
    assert done.code == 0, done.err
    assert done.out.startswith("<!-- qv-review -->")
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(done.out)
    cells = [t.content for t in tokens if t.type == "inline"]
    heads = [i for i, t in enumerate(tokens) if t.type == "th_open"]
    assert heads, "no table"
    table_start = cells.index("environment")
    assert cells[table_start : table_start + 5] == [
        "environment",
        "added",
        "removed",
        "changed",
        "loosened",
    ]
    assert cells[table_start + 5 : table_start + 10] == ["`dev`", "0", "0", "1", "0"]
    assert cells[table_start + 15] == "`prod`"
    assert "1" in cells[table_start + 19]  # the loosened count of prod
    html = "".join(t.content for t in tokens if t.type == "html_block")
    assert html.count("<details") == 3
    assert "<details open>" in html  # prod loosens a limit: its section is open
    assert "<summary><b><code>prod</code></b>" in html
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(done.out)
    assert "<strong>loosened</strong>" in rendered


def test_review_default_base_is_merge_base_with_main(repo: Repo, qv: Qv) -> None:
    fork = repo.git("rev-parse", "HEAD")
    _template_edit(repo)
    repo.git("checkout", "-q", "main")
    repo.replace(PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 1000000")
    repo.commit("Main moved on")
    repo.git("checkout", "-q", "feature/workers")
    done = qv(repo.root, "review", "--format", "json")
    data = json.loads(done.out)
    assert data["base"] == fork
    prod = data["environments"]["prod"]["changes"]
    # Only the branch's own change: main's later commit is not part of this review.
    assert [f["path"] for f in prod[0]["fields"]] == ["spec.runtime.workers"]


class _Recorder:
    """A Progress that remembers what it heard."""

    def __init__(self) -> None:
        self.total = -1
        self.advanced = 0
        self.stopped = False

    def start(self, label: str, total: int) -> None:
        assert "prod" in label
        self.total = total

    def advance(self, amount: int) -> None:
        self.advanced += amount

    def stop(self) -> None:
        self.stopped = True


def test_log_reports_its_progress_commit_by_commit(repo: Repo) -> None:
    from qv_config.diff.log import env_log

    repo.replace("environments/dev/configs/example-service.yaml", "team-platform", "team-dev")
    repo.commit("Dev only: owner")  # prod's input key unchanged: not worked out at all
    _template_edit(repo)
    heard = _Recorder()
    entries = env_log(repo.root, "prod", limit=20, progress=heard)
    assert len(entries) == 2
    assert (heard.total, heard.advanced, heard.stopped) == (2, 2, True)
    capped = _Recorder()
    assert len(env_log(repo.root, "prod", limit=1, progress=capped)) == 1
    assert (capped.total, capped.advanced) == (1, 1)


def _rename_bases(repo: Repo) -> None:
    """A base edit, then a commit that renames the bases folder (qv.yaml says so)."""
    repo.replace(
        "strategies/example-momentum.yaml",
        "lookback_days: {type: int, value: 120",
        "lookback_days: {type: int, value: 90",
    )
    repo.commit("Shorter lookback")
    repo.git("mv", "strategies", "strats")
    for env in ("dev", "staging", "prod"):  # overlays follow their base's path
        if (repo.root / f"environments/{env}/strategies").exists():
            repo.git("mv", f"environments/{env}/strategies", f"environments/{env}/strats")
    repo.replace("qv.yaml", "bases: [strategies]", "bases: [strats]")
    repo.commit("Rename the bases folder")


def test_log_sees_a_base_edit_made_before_the_bases_folder_was_renamed(repo: Repo, qv: Qv) -> None:
    # The keys that pick the commits to look at cover every revision's bases folders, not only
    # the tip's: over `strats` alone, the lookback edit in `strategies` looked like no change.
    _rename_bases(repo)
    done = qv(repo.root, "log", "--env", "prod", "--format", "json")
    assert done.code == 0, done.err
    entries = {e["subject"]: e for e in json.loads(done.out)}
    assert "Shorter lookback" in entries, list(entries)
    (change,) = entries["Shorter lookback"]["diff"]["changes"]
    assert change["ref"] == "strategy/example-momentum"
    field = next(f for f in change["fields"] if f["path"].startswith("spec.parameters.lookback"))
    assert (field["old"], field["new"]) == (120, 90)
    # The first commit shows its own state, not the later one's (keys told them apart).
    first = entries["Starter project"]["diff"]["changes"]
    assert all(c["op"] == "added" for c in first), first


def test_agent_walk_keeps_a_state_made_before_the_bases_folder_was_renamed(
    repo: Repo, tmp_path: Path
) -> None:
    from qv_config.agent.source import GitMirror
    from qv_config.agent.walk import states_to_apply

    deployed = repo.git("rev-parse", "HEAD").strip()
    _rename_bases(repo)
    lookback, renamed = repo.git("rev-list", "--reverse", f"{deployed}..HEAD").split()
    mirror = GitMirror(str(repo.root), tmp_path / "mirror")  # bare, as the agent has it
    mirror.fetch()
    states = states_to_apply(mirror, "prod", deployed, renamed)
    assert states == [lookback, renamed]


def test_agent_walk_sees_a_change_to_a_schema_the_deployed_state_read_outside_the_key(
    repo: Repo, tmp_path: Path
) -> None:
    """A schema named by ``metadata.schema`` outside the input key's folders, listed in the
    deployed ``_meta.inputs``: a commit that only tightens it is a state to validate (before the
    fix it was skipped as "cannot change the effective configuration")."""
    from qv_config.agent.source import GitMirror
    from qv_config.agent.walk import states_to_apply

    repo.write("extra/svc.schema.json", repo.read("schemas/configs/example-service.schema.json"))
    config = "environments/prod/configs/example-service.yaml"
    repo.replace(
        config, "owner: team-platform}", "owner: team-platform, schema: extra/svc.schema.json}"
    )
    deployed = repo.commit("a schema outside schemas/")
    repo.write(
        "extra/svc.schema.json",
        repo.read("extra/svc.schema.json").replace('"minimum": 0', '"minimum": 1'),
    )
    tightened = repo.commit("tighten the schema only")
    mirror = GitMirror(str(repo.root), tmp_path / "mirror")
    mirror.fetch()
    assert states_to_apply(mirror, "prod", deployed, tightened, ("extra/svc.schema.json",)) == [
        tightened
    ]
    assert states_to_apply(mirror, "prod", deployed, tightened) == []  # nothing recorded
