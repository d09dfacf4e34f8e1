"""Whole results by the stat of every file (``cache.tree``): an unchanged tree is answered without
loading anything; any change, other options, a racy file, an encrypted file or a changed schema
outside the listed folders make the run work again, and the answer is always a fresh run's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.starter import age

from qv_config.validate import ValidationResult
from qv_config.validate.worktree import validate_worktree

from .conftest import same_result

POLICY = "environments/dev/execution-policies/equity-default.yaml"


def run(root: Path, *envs: str, paths: tuple[str, ...] = ()) -> ValidationResult:
    return validate_worktree(root, list(envs) or None, paths)[0]


def fresh(root: Path, *envs: str, paths: tuple[str, ...] = ()) -> ValidationResult:
    return validate_worktree(root, list(envs) or None, paths, use_cache=False)[0]


@pytest.fixture
def no_load(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """After calling it, loading a snapshot fails the test: the answer must come from the memo."""

    def forbid() -> None:
        def fail(*args: object, **kwargs: object) -> None:
            raise AssertionError("the tree was loaded")

        monkeypatch.setattr("qv_config.repo.load_snapshot", fail)

    return forbid


same = same_result


@pytest.mark.parametrize("case", ["valid", "qv310-config-schema", "qv540-expired-flag"])
def test_an_unchanged_tree_is_answered_without_loading(
    case_tree: Callable[[str], Path], no_load: Callable[[], None], case: str
) -> None:
    root = case_tree(case)
    age(root)
    first = run(root)
    same(first, fresh(root))
    no_load()
    again = run(root)
    same(again, first)
    assert again.stats.validated == 0


def test_each_change_and_each_option_is_answered_afresh(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    age(root)
    run(root)
    policy = root / POLICY
    text = policy.read_text()
    policy.write_text(text.replace("max_participation_pct: 10", "max_participation_pct: -1"))
    age(root)
    changed = run(root)
    assert changed.errors > 0
    same(changed, fresh(root))
    same(run(root, "dev"), fresh(root, "dev"))
    same(run(root, paths=("environments/prod",)), fresh(root, paths=("environments/prod",)))
    same(run(root), changed)  # and the first options again
    (root / POLICY).unlink()  # a file removed
    age(root)
    same(run(root), fresh(root))


def test_a_file_changed_just_now_is_not_trusted(case_tree: Callable[[str], Path]) -> None:
    from qv_config.cache.tree import Tree
    from qv_config.repo import WorkTreeSource

    root = case_tree("valid")
    for path in root.rglob("*"):  # every file changed just now: racy
        os.utime(path)
    run(root)

    def restat() -> set[str]:
        source = WorkTreeSource(root)
        source.list_files(["strategies"])
        return set(Tree(root).compare(source.listing(), source.index).restat)

    listed = set(WorkTreeSource(root).list_files(["strategies"]))
    assert restat() == listed  # no stat of the racy run vouches for its file
    age(root)
    run(root)
    assert restat() == set()  # the aged stats vouch: none was racy when recorded


def test_a_schema_outside_the_listed_folders_is_checked(
    case_tree: Callable[[str], Path], no_load: Callable[[], None]
) -> None:
    root = case_tree("valid")
    config = root / "environments/dev/configs/oms.yaml"
    (root / "elsewhere").mkdir()
    shutil.move(root / "schemas/configs/oms.schema.json", root / "elsewhere/oms.schema.json")
    meta = "{name: oms, owner: team-oms}"
    new = "{name: oms, owner: team-oms, schema: elsewhere/oms.schema.json}"
    config.write_text(config.read_text().replace(meta, new))
    age(root)
    assert run(root).ok
    schema = root / "elsewhere/oms.schema.json"
    schema.write_text(schema.read_text().replace('"maximum": 65535', '"maximum": 1024'))
    age(root)
    assert [f.code for f in run(root).findings] == ["QV310"]  # not the kept "valid"
