"""The result memo's files (``cache.results``): one file per environment, read in part by every run
and written only when that environment is checked again (its unchanged shards copied as they
are). Whatever happens to the files (missing, foreign, corrupt, stale, one shard damaged), the
findings are those of a run without any cache."""

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
from qv_config.cache.pack import sealer
from qv_config.cache.results import _env_file as heavy_name
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
    return sealer(root, name)


def test_one_changed_environment_rewrites_only_its_heavy_file(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    run(root)
    before = heavy_files(root)
    assert set(before) == {"dev", "prod"}
    files = [before["dev"], before["prod"], root / CACHE / "validate.qvc"]
    ids = [identity(path) for path in files]
    assert run(root).stats.validated == 0
    assert [identity(path) for path in files] == ids  # a warm run writes nothing
    touch_dev(root, 11)
    assert same_as_fresh(root).stats.validated == 1
    after = heavy_files(root)
    assert identity(after["prod"]) == ids[1]  # neither re-encoded nor rewritten
    assert identity(after["dev"]) != ids[0]


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


def _forget_findings(records: dict[str, bytes]) -> dict[str, bytes]:
    """A memo whose records keep their keys but lost their findings."""
    out = dict(records)
    row = list(marshal.loads(records["row"]))
    row[4:7] = [(), (), ((), ())]  # the renderer's, the records', the cross rules' findings
    out["row"] = marshal.dumps(tuple(row))
    for name, blob in records.items():
        if re.fullmatch(r"s\d\d", name):
            docs = marshal.loads(blob)
            docs = {path: (*record[:8], (), *record[9:]) for path, record in docs.items()}
            out[name] = marshal.dumps(docs)
    return out


def _all_records(root: Path, path: Path) -> dict[str, bytes]:
    found = pack.Pack.open(path, _seal(root, path.name))
    records = {name: found.get(name) for name in found.numbers}
    found.close()
    assert all(blob is not None for blob in records.values())
    return records  # type: ignore[return-value]


@pytest.mark.parametrize("seal", ["other key", "none", "another file"])
def test_foreign_heavy_file_is_ignored(
    case_tree: Callable[[str], Path], tmp_path: Path, seal: str
) -> None:
    root = case_tree("qv310-config-schema")
    run(root)
    path = heavy_files(root)["dev"]
    forged = _forget_findings(_all_records(root, path))
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
def test_corrupt_memo_file_renders_that_environment_again(
    case_tree: Callable[[str], Path], junk: bytes
) -> None:
    root = case_tree("qv310-config-schema")
    cold = run(root)
    dev = heavy_files(root)["dev"]
    pack.write(dev, _seal(root, dev.name), {"other": junk})  # no row
    again = same_as_fresh(root)
    assert 0 < again.stats.validated < cold.stats.validated  # dev only
    assert run(root).stats.validated == 0  # rebuilt
    dev.write_bytes(junk)  # not even a pack
    assert same_as_fresh(root).stats.validated == again.stats.validated
    assert set(heavy_files(root)) == {"dev", "prod"}


@pytest.mark.parametrize("part", ["s", "names", "mains"])
def test_a_damaged_part_of_a_memo_is_never_used_by_difference(
    case_tree: Callable[[str], Path], part: str
) -> None:
    """A memo whose row is authentic but one of whose parts is not (damaged after the file was
    written, or copied unchecked from a damaged file): the environment is checked as without
    a memo, never with the parts that remain."""
    from qv_config.cache.results import shard_of

    root = case_tree("qv310-config-schema")
    run(root)
    dev = heavy_files(root)["dev"]
    config = "environments/dev/configs/oms.yaml"
    name = f"s{shard_of(config):02d}" if part == "s" else part
    found = pack.Pack.open(dev, _seal(root, dev.name))
    start = found._start + found._offsets[found.numbers[name]]
    found.close()
    data = bytearray(dev.read_bytes())
    data[start + 3] ^= 1
    dev.write_bytes(bytes(data))
    touch_dev(root, 11)
    assert {f.code for f in same_as_fresh(root).findings} == {"QV310"}
    touch_dev(root, 12)
    assert {f.code for f in same_as_fresh(root).findings} == {"QV310"}


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
