"""The result memo's files (``cache.results``): a light ``validate.qvc`` read by every run and one
file per environment, read and written only when that environment is checked again. Whatever
happens to the files (missing, foreign, corrupt, stale), the findings are those of a run without
any cache."""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.sealing import machine

from qv_config.cache import pack
from qv_config.cache.results import _heavy_name as heavy_name
from qv_config.cache.results import rules_code_hash
from qv_config.cache.seal import sealer
from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.validate import ValidationResult, validate

CACHE = Path(".qv/cache")
HEAVY = re.compile(r"validate-(?P<env>.+)-[0-9a-f]{8}\.qvc")


def run(root: Path, **options: object) -> ValidationResult:
    return validate(load_snapshot(WorkTreeSource(root)), **options)  # type: ignore[arg-type]


def same_as_fresh(root: Path) -> ValidationResult:
    """Run with the cache; assert it reports what a run without any cache reports."""
    cached = run(root)
    fresh = run(root, use_cache=False)
    assert cached.findings == fresh.findings
    assert (cached.errors, cached.warnings, cached.documents) == (
        fresh.errors,
        fresh.warnings,
        fresh.documents,
    )
    return cached


def heavy_files(root: Path) -> dict[str, Path]:
    """env -> its heavy file (exactly one per environment)."""
    found: dict[str, Path] = {}
    for path in (root / CACHE).iterdir():
        match = HEAVY.fullmatch(path.name)
        if match is not None:
            assert match["env"] not in found, f"two heavy files for {match['env']}"
            found[match["env"]] = path
    return found


def identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def touch_dev(root: Path, value: int) -> None:
    """An edit in dev that changes no finding: dev is re-validated, its other documents reused."""
    policy = root / "environments/dev/execution-policies/equity-default.yaml"
    text = re.sub(
        r"max_participation_pct: \d+", f"max_participation_pct: {value}", policy.read_text()
    )
    policy.write_text(text)


def age(path: Path, seconds: float = 3600) -> None:
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


def _seal(root: Path, name: str) -> Any:
    return sealer(root, name, rules_code_hash())


def _read(root: Path, name: str, record: str) -> bytes:
    blob = pack.read_one(root / CACHE / name, _seal(root, name), record)
    assert blob is not None
    return blob


def test_one_changed_environment_rewrites_only_its_heavy_file(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    run(root)
    before = heavy_files(root)
    assert set(before) == {"dev", "prod"}
    files = [root / CACHE / "validate.qvc", before["dev"], before["prod"]]
    ids = [identity(path) for path in files]
    assert run(root).stats.validated == 0
    assert [identity(path) for path in files] == ids  # a warm run writes nothing
    touch_dev(root, 11)
    assert same_as_fresh(root).stats.validated == 1
    after = heavy_files(root)
    assert identity(after["prod"]) == ids[2]  # neither re-encoded nor rewritten
    assert identity(after["dev"]) != ids[1]


def test_missing_heavy_file_rerenders_that_environment(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("qv310-config-schema")
    cold = run(root)
    assert cold.errors > 0
    heavy_files(root)["dev"].unlink()
    touch_dev(root, 11)
    result = same_as_fresh(root)
    dev_files = [*(root / "environments/dev").rglob("*.yaml"), *(root / "strategies").glob("*")]
    assert result.stats.validated == len(dev_files)  # nothing of dev reused, all of prod
    assert "dev" in heavy_files(root)  # written again
    touch_dev(root, 12)
    assert same_as_fresh(root).stats.validated == 1


def _forget_findings(payload: bytes) -> bytes:
    """A heavy record whose document records keep their keys but lost their findings."""
    docs, cross = marshal.loads(payload)
    docs = {path: (*record[:8], (), *record[9:]) for path, record in docs.items()}
    return marshal.dumps((docs, cross))


@pytest.mark.parametrize("seal", ["other key", "none", "another file"])
def test_foreign_heavy_file_is_ignored(
    case_tree: Callable[[str], Path], tmp_path: Path, seal: str
) -> None:
    root = case_tree("qv310-config-schema")
    run(root)
    path = heavy_files(root)["dev"]
    forged = {"heavy": _forget_findings(_read(root, path.name, "heavy"))}
    if seal == "none":
        pack.write(path, None, forged)  # nothing written without a sealer...
        path.write_bytes(b"qv-cache-pack/1\n" + marshal.dumps(forged))  # ...so: not a pack
    elif seal == "other key":
        with machine(tmp_path / "other-home"):
            pack.write(path, _seal(root, path.name), forged)
    else:  # sealed by this user, but for prod's file: renamed into dev's
        prod = heavy_files(root)["prod"]
        pack.write(prod, _seal(root, prod.name), forged)
        os.replace(prod, path)
    touch_dev(root, 11)
    assert {f.code for f in same_as_fresh(root).findings} == {"QV310"}


@pytest.mark.parametrize("junk", [b"not a cache", b"\x00" * 64])
def test_corrupt_light_file_gives_a_cold_run(case_tree: Callable[[str], Path], junk: bytes) -> None:
    root = case_tree("qv310-config-schema")
    run(root)
    light = root / CACHE / "validate.qvc"
    pack.write(light, _seal(root, "validate.qvc"), {"other": junk})  # no "light" record
    assert same_as_fresh(root).stats.cached == 0
    assert run(root).stats.validated == 0  # rebuilt
    light.write_bytes(junk)  # not even a pack
    assert same_as_fresh(root).stats.cached == 0
    assert set(heavy_files(root)) == {"dev", "prod"}


def test_files_of_removed_environments_are_removed_and_others_kept(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    run(root)
    folder = root / CACHE
    stale = folder / "validate-gone-00000000.qvc"  # of an environment no longer there
    other = folder / "notes.txt"
    for path in (stale, other):
        path.write_bytes(b"x")
    touch_dev(root, 11)
    same_as_fresh(root)
    assert not stale.exists()
    assert other.exists()
    assert set(heavy_files(root)) == {"dev", "prod"}


def test_environment_removed_from_qv_yaml(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    run(root)
    prod = heavy_files(root)["prod"]
    edit(root / "qv.yaml", "environments: [dev, prod]", "environments: [dev]")
    result = same_as_fresh(root)
    assert result.environments == ("dev",)
    assert not prod.exists()
    assert set(heavy_files(root)) == {"dev"}
    edit(root / "qv.yaml", "environments: [dev]", "environments: [dev, prod]")
    same_as_fresh(root)
    assert set(heavy_files(root)) == {"dev", "prod"}


def test_a_run_of_one_environment_keeps_the_others_records(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    run(root)
    prod = identity(heavy_files(root)["prod"])
    touch_dev(root, 12)
    assert run(root, envs=["dev"]).environments == ("dev",)
    assert identity(heavy_files(root)["prod"]) == prod  # not checked: its record stays as it was
    touch_dev(root, 12)  # same bytes again: dev is served whole too
    result = same_as_fresh(root)
    assert result.stats.validated == 0
    assert identity(heavy_files(root)["prod"]) == prod


@pytest.mark.parametrize("env", ["dev", "../x", "a b/c", "é" * 80, ""])
def test_heavy_file_names_are_plain_file_names(env: str) -> None:
    name = heavy_name(env)
    assert re.fullmatch(r"validate-[A-Za-z0-9_-]{0,40}-[0-9a-f]{8}\.qvc", name)
    assert heavy_name(env + "x") != name


def test_concurrent_runs_report_what_a_run_without_cache_reports(
    case_tree: Callable[[str], Path],
) -> None:
    # Four qv processes at once, again and again while a file changes (valid, then invalid):
    # their cache files interleave, their findings never do.
    import json
    import subprocess
    import sys

    qv = str(Path(sys.executable).with_name("qv"))
    root = case_tree("valid")
    policy = root / "environments/dev/execution-policies/equity-default.yaml"

    def codes(*extra: str) -> list[tuple[str, str, int]]:
        done = subprocess.run(
            [qv, "-C", str(root), "validate", "--format", "json", *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stderr == ""
        return located(done.stdout)

    def located(report: str) -> list[tuple[str, str, int]]:
        return sorted((f["code"], f["file"], f["line"]) for f in json.loads(report)["findings"])

    for value in ("11", "-5", "12", "-6"):
        field = "max_participation_pct: "
        policy.write_text(re.sub(field + r"-?\d+", field + value, policy.read_text()))
        runs = [
            subprocess.Popen(
                [qv, "-C", str(root), "validate", "--format", "json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        fresh = codes("--no-cache")
        assert bool(fresh) == value.startswith("-")
        for out, err in outputs:
            assert err == ""
            assert located(out) == fresh
        assert codes() == fresh  # and the cache they left behind agrees too
