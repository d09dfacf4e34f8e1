"""``qv promote`` on real Git repositories: what a promotion carries, the branch and commit it
makes, the files it writes (comments kept), and a second promotion that finds nothing."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from qv_config.promote import plan_promotion, pr_body, pr_title
from qv_config.render.desired import desired_state, digest
from qv_config.render.engine import render_environment
from qv_config.repo import GitSource, load_snapshot
from tests.gitrepo import Repo as GitRepo
from tests.gitrepo import starter_repo

Qv = Callable[..., Any]
Repo = Any
MOMENTUM_DEV = "environments/dev/strategies/momentum-eu.yaml"
MOMENTUM_STAGING = "environments/staging/strategies/momentum-eu.yaml"
EXAMPLE_DEV = "environments/dev/strategies/example-momentum.yaml"
EXAMPLE_STAGING = "environments/staging/strategies/example-momentum.yaml"
SERVICE = "configs/example-service.yaml"


def _promoted(qv: Qv, repo: Repo, *args: str) -> dict[str, Any]:
    done = qv(repo.root, "promote", *args, "--format", "json")
    assert done.code == 0, done.err
    data: dict[str, Any] = json.loads(done.out)
    return data


def _trailers(repo: Repo, branch: str) -> dict[str, str]:
    message = repo.git("log", "-1", "--format=%B", branch)
    return dict(re.findall(r"^([A-Za-z-]+): (\S+)$", message, re.M))


def _new_momentum_release(project: Repo) -> str:
    project.write(
        MOMENTUM_DEV,
        project.read(MOMENTUM_DEV)
        + "  version: 1.5.0                 # the release dev tries\n"
        + "  universe: {venues: [XLON, XETR, XPAR, XAMS, XMAD, XSWX]}\n",
    )
    project.replace(
        MOMENTUM_DEV,
        "    use_ml_signal: {value: true}",
        "    use_ml_signal: {value: true}\n    lookback_days: {value: 200}",
    )
    return str(project.commit("dev: momentum-eu 1.5.0"))


def test_momentum_carries_version_parameters_universe_never_sizing(project: Repo, qv: Qv) -> None:
    head = _new_momentum_release(project)
    before = project.read(MOMENTUM_STAGING)
    data = _promoted(qv, project, "dev", "staging", "strategy/momentum-eu")
    branch = data["branch"]
    assert branch == f"qv/promote/dev-to-staging/{head[:7]}"
    assert [(e["path"], e["op"], e["overlay"]) for e in data["edits"]] == [
        (MOMENTUM_STAGING, "edit", True)
    ]
    after = project.git("show", f"{branch}:{MOMENTUM_STAGING}") + "\n"
    assert "version: 1.5.0" in after
    assert "XSWX" in after
    assert "value: 200" in after
    assert "value: true" in after  # dev's ML signal pilot is a parameter: it is carried
    # Staging's sizing (limits, allocation, activation) and its comment stay as they were.
    kept = list(before.splitlines(keepends=True))
    assert after.startswith("".join(kept))
    # The promotion touched neither the work tree nor the branch checked out.
    assert project.git("status", "--porcelain") == ""
    assert project.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert project.read(MOMENTUM_STAGING) == before
    trailers = _trailers(project, branch)
    assert trailers["Promoted-From"] == f"dev@{head}"
    assert trailers["Qv-Target-Digest"] == data["target_digest"]
    assert project.git("rev-parse", f"{branch}~1") == head


def test_diff_after_a_promotion_shows_only_env_specific_fields(project: Repo, qv: Qv) -> None:
    _new_momentum_release(project)
    branch = _promoted(qv, project, "dev", "staging", "strategy/momentum-eu")["branch"]
    project.git("checkout", "-q", branch)
    plain = qv(project.root, "diff", "dev", "staging", "strategy/momentum-eu", "--format", "json")
    assert json.loads(plain.out)["changes"] == []
    every = qv(
        project.root, "diff", "dev", "staging", "strategy/momentum-eu", "--all", "-f", "json"
    )
    fields = {f["path"] for c in json.loads(every.out)["changes"] for f in c["fields"]}
    assert fields
    assert all(f.startswith(("spec.limits", "spec.allocation")) for f in fields)
    again = qv(project.root, "promote", "dev", "staging", "strategy/momentum-eu")
    assert again.code == 0, again.err
    assert "nothing to promote" in again.out
    assert project.git("branch", "--list", "qv/*").count("qv/") == 1  # no second branch


def test_a_whole_environment_promotion_diffs_clean(project: Repo, qv: Qv) -> None:
    _new_momentum_release(project)
    data = _promoted(qv, project, "dev", "staging")
    assert len(data["edits"]) > 5
    project.git("checkout", "-q", data["branch"])
    done = qv(project.root, "diff", "dev", "staging", "--exit-code")
    assert done.code == 0, done.out
    assert qv(project.root, "validate", "--env", "staging").code == 0
    assert "nothing to promote" in qv(project.root, "promote", "dev", "staging").out


def test_the_digest_trailer_is_targets_rendered_digest(project: Repo, qv: Qv) -> None:
    _new_momentum_release(project)
    # A dry run first: the validation memo then knows the edited state (it must not stand in
    # for rendering the edited documents).
    assert qv(project.root, "promote", "dev", "staging", "strategy/*", "--dry-run").code == 0
    data = _promoted(qv, project, "dev", "staging", "strategy/*")
    source = GitSource(project.root, data["branch"])
    try:
        rendered = render_environment(load_snapshot(source, use_cache=False), "staging")
    finally:
        source.close()
    assert digest(desired_state(rendered)) == data["target_digest"]


def test_a_missing_overlay_is_created(repo: Repo, qv: Qv) -> None:
    repo.write(EXAMPLE_DEV, repo.read(EXAMPLE_DEV) + "  version: 0.2.0\n")
    repo.commit("dev: example-momentum 0.2.0")
    data = _promoted(qv, repo, "dev", "staging", "strategy/example-momentum")
    assert [(e["path"], e["op"]) for e in data["edits"]] == [(EXAMPLE_STAGING, "create")]
    text = repo.git("show", f"{data['branch']}:{EXAMPLE_STAGING}")
    assert text.startswith("# staging overlay of strategies/example-momentum.yaml")
    assert "version: 0.2.0" in text
    assert "activation" not in text  # env-specific: dev's activation stays in dev


def test_an_overlay_repeating_the_base_is_trimmed_or_removed(repo: Repo, qv: Qv) -> None:
    # staging pinned an older version in its overlay; dev runs the base's: promoting removes
    # the pin (the base gives it), and the overlay, left with nothing, goes.
    repo.write(EXAMPLE_STAGING, "# staging pins the version under test\nspec:\n  version: 0.0.9\n")
    repo.commit("staging pins example-momentum")
    data = _promoted(qv, repo, "dev", "staging", "strategy/example-momentum")
    assert [(e["path"], e["op"]) for e in data["edits"]] == [(EXAMPLE_STAGING, "delete")]
    listed = repo.git("ls-tree", "-r", "--name-only", data["branch"], "environments/staging")
    assert EXAMPLE_STAGING not in listed.splitlines()
    repo.git("checkout", "-q", data["branch"])
    again = qv(repo.root, "promote", "dev", "staging", "strategy/example-momentum")
    assert "nothing to promote" in again.out


def test_comments_and_layout_are_kept_outside_the_edited_lines(repo: Repo, qv: Qv) -> None:
    staging = f"environments/staging/{SERVICE}"
    repo.replace(
        staging,
        "  max_order_notional: 500000",
        "  # sized for staging\n  max_order_notional: 500000   # keep this comment",
    )
    repo.commit("comment staging")
    before = repo.read(staging)
    data = _promoted(qv, repo, "dev", "staging", "config/example-service")
    after = repo.git("show", f"{data['branch']}:{staging}") + "\n"
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line.startswith(("- ", "+ "))]  # fmt: skip
    assert changed == [
        "-   max_order_notional: 500000   # keep this comment",
        "+   max_order_notional: 100000   # keep this comment",
    ]


def test_documents_of_one_side_alone_are_copied_or_removed(repo: Repo, qv: Qv) -> None:
    flag = (
        "# A release flag dev tries first.\napiVersion: qv/v1\nkind: Flag\n"
        "metadata: {name: new-blotter, owner: team-ui}\n"
        "spec:\n  type: release\n  enabled: true\n  strategies: [{name: default}]\n"
    )
    repo.write("environments/dev/flags/new-blotter.yaml", flag)
    repo.write("environments/staging/flags/old-blotter.yaml", flag.replace("new-", "old-"))
    repo.commit("flags")
    data = _promoted(qv, repo, "dev", "staging", "flag/*-blotter")
    ops = {(e["path"], e["op"]) for e in data["edits"]}
    assert ops == {
        ("environments/staging/flags/new-blotter.yaml", "create"),
        ("environments/staging/flags/old-blotter.yaml", "delete"),
    }
    branch = data["branch"]
    assert repo.git("show", f"{branch}:environments/staging/flags/new-blotter.yaml") + "\n" == flag
    listed = repo.git("ls-tree", "-r", "--name-only", branch, "environments/staging/flags")
    assert "old-blotter" not in listed


def test_dry_run_prints_the_plan_and_the_edits_and_makes_no_branch(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "--dry-run")
    assert done.code == 0, done.err
    assert f"+++ b/environments/staging/{SERVICE}" in done.out
    assert "+  max_order_notional: 100000" in done.out
    assert "dry run" in done.out
    assert repo.git("branch", "--list", "qv/*") == ""
    assert repo.git("status", "--porcelain") == ""


def test_branch_name_push_and_remote(repo: Repo, qv: Qv, tmp_path: Any) -> None:
    remote = tmp_path / "remote.git"
    repo.git("init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "upstream", str(remote))
    done = qv(repo.root, "promote", "dev", "staging", "--branch", "promote/oms-limits",
              "--push", "--remote", "upstream")  # fmt: skip
    assert done.code == 0, done.err
    assert "pushed to upstream" in done.out
    heads = repo.git("ls-remote", "--heads", str(remote))
    assert "refs/heads/promote/oms-limits" in heads
    again = qv(repo.root, "promote", "dev", "staging", "--branch", "promote/oms-limits")
    assert again.code == 1
    assert "exists already" in again.err


def test_pull_request_title_and_body(repo: Repo) -> None:
    plan = plan_promotion(repo.root, "dev", "staging", ["config/example-service"])
    assert pr_title(plan) == "Promote dev to staging: config/example-service"
    body = pr_body(plan)
    assert f"| `environments/staging/{SERVICE}` | edit | `config/example-service` |" in body
    assert "spec.max_order_notional" in body
    assert "tightened" in body
    assert f"Qv-Target-Digest: `{plan.target_digest}`" in body


def test_markdown_format_is_the_pull_request_body(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "--dry-run", "--format", "markdown")
    assert done.code == 0, done.err
    assert done.out.startswith("Promotes **dev**")


def test_a_project_in_a_folder_of_its_repository(tmp_path: Any, qv: Qv) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    starter_repo(outer / "config")  # its own .git first, moved up to make a monorepo
    (outer / "config" / ".git").rename(outer / ".git")
    repo = GitRepo(outer)
    repo.git("add", "-A")
    repo.commit("the configuration in a folder")
    project = GitRepo(outer / "config")
    project.write(EXAMPLE_DEV, project.read(EXAMPLE_DEV) + "  version: 0.3.0\n")
    repo.commit("dev: 0.3.0")
    data = _promoted(qv, project, "dev", "staging", "strategy/example-momentum")
    listed = repo.git("ls-tree", "-r", "--name-only", data["branch"]).splitlines()
    assert f"config/{EXAMPLE_STAGING}" in listed
    assert EXAMPLE_STAGING not in listed
