"""The input key stands for a state only when the state reads nothing else (diff/states.py).

The work tree is HEAD's input key only when every file qv reads there is HEAD's byte for byte
(``git status`` leaves out ignored files and trusts index flags and clean filters); a rendered
state kept under its key is reused only while the schema files it read outside the key's
folders (``metadata.schema`` may name any path) are unchanged.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest

Qv = Callable[..., Any]
Repo = Any
CONFIG = "environments/dev/configs/example-service.yaml"


def _hide_an_edit(repo: Repo, how: str) -> Callable[[], None]:
    """A change in dev's work tree that ``git status`` does not list, and its undoing."""
    if how == "ignored":
        repo.write(".gitignore", "*.local.yaml\n")
        repo.commit("ignore local files")
        text = repo.read(CONFIG).replace("name: example-service", "name: local-service")
        repo.write("environments/dev/configs/local-service.local.yaml", text)
        return (repo.root / "environments/dev/configs/local-service.local.yaml").unlink
    if how == "filter":  # the work tree holds what the clean filter turns into HEAD's bytes
        repo.git("config", "filter.loose.clean", "sed s/900000/100000/")
        repo.write(".gitattributes", f"{CONFIG} filter=loose\n")
        repo.commit("a clean filter")
        repo.replace(CONFIG, "100000", "900000")
        repo.git("add", "-A")
        return lambda: (repo.git("config", "--unset", "filter.loose.clean"), _restore(repo))
    flag = {"assume-unchanged": "--assume-unchanged", "skip-worktree": "--skip-worktree"}[how]
    repo.git("update-index", flag, CONFIG)
    repo.replace(CONFIG, "100000", "900000")
    return lambda: (repo.git("update-index", flag.replace("--", "--no-"), CONFIG), _restore(repo))


def _restore(repo: Repo) -> None:
    repo.git("checkout", "--", CONFIG)


def _diff(qv: Qv, repo: Repo, *args: str) -> Any:
    done = qv(repo.root, "diff", *args, "--all", "--format", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def _refs(answer: Any) -> set[tuple[str, str]]:
    return {(c["op"], c["ref"]) for c in answer["changes"]}


@pytest.mark.parametrize("how", ["ignored", "assume-unchanged", "skip-worktree", "filter"])
def test_work_tree_that_git_calls_clean_is_not_heads_render(repo: Repo, qv: Qv, how: str) -> None:
    """Before the fix: ``qv diff dev@HEAD dev`` said no differences, and the work tree's render
    was kept under HEAD's key, so a later diff of HEAD itself showed the hidden edit."""
    undo = _hide_an_edit(repo, how)
    assert repo.git("status", "--porcelain") == ""  # what Git says: nothing changed
    seen = _refs(_diff(qv, repo, "dev@HEAD", "dev"))
    edited = ("changed", "config/example-service")
    assert seen == ({("added", "config/local-service")} if how == "ignored" else {edited})
    _diff(qv, repo, "dev", "staging@HEAD")  # the whole work tree rendered
    undo()
    warm = _diff(qv, repo, "dev@HEAD", "staging@HEAD")
    shutil.rmtree(repo.root / ".qv")
    assert warm == _diff(qv, repo, "dev@HEAD", "staging@HEAD")


def _schema_outside(repo: Repo) -> None:
    """example-service's schema moved out of ``schemas/`` and named by ``metadata.schema``."""
    schema = repo.read("schemas/configs/example-service.schema.json")
    repo.write("extra/svc.schema.json", schema)
    (repo.root / "schemas/configs/example-service.schema.json").unlink()
    for env in ("dev", "staging", "prod"):
        path = f"environments/{env}/configs/example-service.yaml"
        repo.replace(
            path, "owner: team-platform}", "owner: team-platform,\n  schema: extra/svc.schema.json}"
        )
    repo.commit("a schema outside schemas/")


def _tighten(repo: Repo) -> None:
    """Only the schema changes: dev's 100000 is now above its maximum."""
    path = repo.root / "extra/svc.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["max_order_notional"]["maximum"] = 50000
    path.write_text(json.dumps(schema))


@pytest.mark.parametrize("committed", [True, False], ids=["commit", "work-tree"])
def test_state_kept_by_input_key_is_not_reused_after_its_schema_changed(
    repo: Repo, qv: Qv, committed: bool
) -> None:
    """Before the fix: the previous commit's "valid" answered for the tightened one (the input
    key leaves ``extra/`` out), where a cold cache refused the side as invalid."""
    _schema_outside(repo)
    _diff(qv, repo, "dev@HEAD", "staging@HEAD")  # dev@HEAD kept as valid
    _tighten(repo)
    side = "dev@HEAD" if committed else "dev"
    if committed:
        repo.commit("tighten the schema only")
    for _ in ("warm", "cold"):
        done = qv(repo.root, "diff", side, "staging@HEAD")
        assert done.code == 1, done.out
        assert f"side {side} is invalid" in done.err
        assert "QV310" in done.err
        shutil.rmtree(repo.root / ".qv")
