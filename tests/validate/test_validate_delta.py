"""The work tree's shortcut (``validate.worktree``): when only documents of environments changed,
a run loads just those files and updates each environment by difference. Whatever the edit (a
value, a file added, removed or renamed, a duplicate, a broken file, a template, qv.yaml, a
schema, a link, another day, other options, a damaged memo), its answer is a run's without any
cache, and the shortcut is taken exactly when it applies."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path

import pytest
from tests.starter import age

from qv_config.validate import ValidationResult
from qv_config.validate.worktree import validate_worktree

from .conftest import same_result

CONFIG = "environments/dev/configs/oms.yaml"
POLICY = "environments/dev/risk-policies/equity-standard.yaml"
FLAG = "environments/dev/flags/kill-alpha.yaml"
Loads = list[Collection[str] | None]  # the ``only`` of each load of a run


def run(root: Path, *envs: str, today: date | None = None) -> ValidationResult:
    return validate_worktree(root, list(envs) or None, today=today)[0]


def fresh(root: Path, *envs: str, today: date | None = None) -> ValidationResult:
    return validate_worktree(root, list(envs) or None, use_cache=False, today=today)[0]


same = same_result


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Loads:
    """What each run loads: a partial snapshot (the shortcut) or the whole tree (None)."""
    from qv_config import repo

    seen: Loads = []
    real = repo.load_snapshot

    def spy(*args: object, **kwargs: object) -> object:
        only = kwargs.get("only")
        seen.append(None if only is None else frozenset(only))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "load_snapshot", spy)
    return seen


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, (file, old)
    path.write_text(text.replace(old, new))


def settled(case_tree: Callable[[str], Path], name: str = "valid") -> Path:
    root = case_tree(name)
    age(root)
    run(root)
    run(root)
    return root


def checked_twice(root: Path, loads: Loads, *envs: str) -> list[Collection[str] | None]:
    """Run after an edit, compare with a fresh run, and again from that run's memo; the loads
    of the first run."""
    loads.clear()
    same(run(root, *envs), fresh(root, *envs))
    first = list(loads[: len(loads) - 1])  # the fresh run's load is the last
    same(run(root, *envs), fresh(root, *envs))
    return first


def shortcut(first: list[Collection[str] | None]) -> bool:
    return bool(first) and all(only is not None for only in first)


DOCUMENT_EDITS = [
    (CONFIG, "port: 8080", "port: 8081"),  # a Config value
    (CONFIG, "port: 8080", "port: eighty"),  # a schema finding appears
    (FLAG, "enabled: false", "enabled: true"),
    (POLICY, "max_gross_exposure: 60000000", "max_gross_exposure: 6000000"),  # cross rules
    (POLICY, "trading_state: active", "trading_state: bogus"),
    (CONFIG, "{{ env.vars.region }}", "{{ env.vars.nope }}"),  # fails to render
    (CONFIG, "kind: Config", "kind: Bogus"),  # QV202: no record, rendered every run
    (CONFIG, "port: 8080", "port: [8080"),  # broken YAML: a load finding
]


@pytest.mark.parametrize(("file", "old", "new"), DOCUMENT_EDITS)
def test_an_edit_of_a_document_is_checked_by_difference(
    case_tree: Callable[[str], Path], loads: Loads, file: str, old: str, new: str
) -> None:
    root = settled(case_tree)
    edit(root, file, old, new)
    first = checked_twice(root, loads)
    assert shortcut(first) or POLICY in file  # cross findings on other documents: whole tree
    edit(root, file, new, old)  # and back
    checked_twice(root, loads)


@pytest.mark.parametrize("racy", [False, True])
def test_the_benchmark_edit_takes_the_shortcut_racy_or_not(
    case_tree: Callable[[str], Path], loads: Loads, racy: bool
) -> None:
    root = settled(case_tree)
    for value in ("8081", "8082", "8083"):
        edit(root, CONFIG, "port: 8080" if value == "8081" else f"port: {int(value) - 1}",
             f"port: {value}")  # fmt: skip
        if not racy:  # dated a minute back, as an edit made a while before the run
            old = (root / CONFIG).stat().st_mtime - 60
            os.utime(root / CONFIG, (old, old))
        first = checked_twice(root, loads)
        assert shortcut(first)
        assert CONFIG in first[0]  # type: ignore[operator]
        assert "environments/prod/flags/kill-alpha.yaml" not in first[0]  # type: ignore[operator]


def test_added_removed_and_renamed_documents(
    case_tree: Callable[[str], Path], loads: Loads
) -> None:
    root = settled(case_tree)
    other = root / "environments/dev/configs/other.yaml"
    other.write_text((root / CONFIG).read_text().replace("name: oms", "name: other"))
    assert shortcut(checked_twice(root, loads))  # added
    other.rename(root / "environments/dev/configs/renamed.yaml")
    assert shortcut(checked_twice(root, loads))  # renamed
    (root / "environments/dev/configs/renamed.yaml").unlink()
    assert shortcut(checked_twice(root, loads))  # removed
    (root / FLAG).unlink()  # QV502 on the strategy that names it (not loaded: whole tree)
    checked_twice(root, loads)
    assert "QV502" in {f.code for f in run(root).findings}
    shutil.copy(root / "environments/prod/flags/kill-alpha.yaml", root / FLAG)  # added back
    checked_twice(root, loads)
    shutil.copy(root / CONFIG, root / "environments/dev/configs/copy.yaml")  # a duplicate
    checked_twice(root, loads)
    assert "QV220" in {f.code for f in run(root).findings}
    (root / "environments/dev/configs/copy.yaml").unlink()
    checked_twice(root, loads)


def test_an_overlay_added_edited_and_removed(
    case_tree: Callable[[str], Path], loads: Loads
) -> None:
    root = settled(case_tree)
    overlay = root / "environments/dev/strategies/alpha.yaml"
    overlay.parent.mkdir()
    overlay.write_text(
        "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: alpha}\n"
        "spec:\n  limits:\n    max_gross_exposure: 26000000\n"
    )
    checked_twice(root, loads)
    edit(root, "environments/dev/strategies/alpha.yaml", "26000000", "99000000")
    checked_twice(root, loads)
    overlay.unlink()
    checked_twice(root, loads)


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("templates/strategy/base.yaml", "kind: Strategy", "kind: Strategy\nbogus: 1"),
        ("strategies/alpha.yaml", "value: 120", "value: 999"),
        ("environments/dev/environment.yaml", "tier: dev", "tier: prod"),
        ("schemas/configs/oms.schema.json", '"maximum": 65535', '"maximum": 1024'),
        ("qv.yaml", "name: case", "name: renamed"),
    ],
)
def test_an_edit_outside_documents_loads_the_whole_tree(
    case_tree: Callable[[str], Path], loads: Loads, file: str, old: str, new: str
) -> None:
    root = settled(case_tree)
    edit(root, file, old, new)
    first = checked_twice(root, loads)
    assert None in first  # the whole tree
    edit(root, file, new, old)
    checked_twice(root, loads)


def test_a_link_added_is_found(case_tree: Callable[[str], Path], loads: Loads) -> None:
    root = settled(case_tree)
    outside = root.parent / "outside.yaml"
    outside.write_text("apiVersion: qv/v1\nkind: Config\nmetadata: {name: x}\n")
    os.symlink(outside, root / "environments/dev/configs/leak.yaml")
    checked_twice(root, loads)
    assert "QV111" in {f.code for f in run(root).findings}
    (root / "environments/dev/configs/leak.yaml").unlink()
    checked_twice(root, loads)


def test_a_file_touched_with_the_same_bytes(case_tree: Callable[[str], Path], loads: Loads) -> None:
    root = settled(case_tree)
    (root / CONFIG).write_bytes((root / CONFIG).read_bytes())
    first = checked_twice(root, loads)
    assert shortcut(first)


def test_another_day(case_tree: Callable[[str], Path], loads: Loads) -> None:
    root = case_tree("qv540-expired-flag")
    age(root)
    before, after = date(2020, 1, 1), date(2020, 3, 1)
    for today in (before, before, after, after, before):
        same(run(root, today=today), fresh(root, today=today))
    assert "QV540" in {f.code for f in run(root, today=after).findings}
    assert "QV540" not in {f.code for f in run(root, today=before).findings}


def test_one_environment_then_all(case_tree: Callable[[str], Path], loads: Loads) -> None:
    root = settled(case_tree)
    edit(root, "environments/prod/flags/kill-alpha.yaml", "enabled: false", "enabled: true")
    same(run(root, "dev"), fresh(root, "dev"))  # prod changed while unchecked: not fresh
    same(run(root), fresh(root))
    edit(root, CONFIG, "port: 8080", "port: 8081")
    assert shortcut(checked_twice(root, loads, "dev"))
    assert shortcut(checked_twice(root, loads))


def test_a_damaged_memo_part_makes_the_run_whole(
    case_tree: Callable[[str], Path], loads: Loads
) -> None:
    from qv_config.cache import pack
    from qv_config.cache.pack import sealer
    from qv_config.cache.results import shard_of

    root = settled(case_tree, "qv310-config-schema")
    dev = next((root / ".qv" / "cache").glob("validate-dev-*.qvc"))
    found = pack.Pack.open(dev, sealer(root, dev.name))
    start = found._start + found._offsets[found.numbers[f"s{shard_of(CONFIG):02d}"]]
    found.close()
    data = bytearray(dev.read_bytes())
    data[start + 3] ^= 1
    dev.write_bytes(bytes(data))
    edit(root, CONFIG, "owner: team-oms", "owner: team-oms2")
    first = checked_twice(root, loads)
    assert None in first  # the shortcut could not use the memo: the whole tree
    assert {f.code for f in run(root).findings} == {"QV310"}
