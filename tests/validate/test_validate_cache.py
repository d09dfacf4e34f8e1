"""The result cache: a warm run re-validates only changed documents; a bad cache is rebuilt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.validate import ValidationResult, validate

CACHE = Path(".qv/cache/validate.qvc")


def memo_files(root: Path) -> list[Path]:
    """The environments' memo files (``cache.results``)."""
    return sorted((root / ".qv" / "cache").glob("validate-*.qvc"))


def run(root: Path, **options: object) -> ValidationResult:
    return validate(load_snapshot(WorkTreeSource(root)), **options)  # type: ignore[arg-type]


def test_second_run_revalidates_only_the_changed_document(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    cold = run(root)
    assert cold.stats.cached == 0
    assert cold.stats.validated == cold.stats.documents > 0
    assert (root / CACHE).is_file()
    warm = run(root)
    assert (warm.stats.validated, warm.stats.cached) == (0, cold.stats.documents)
    assert warm.findings == cold.findings
    flag = root / "environments/dev/flags/kill-alpha.yaml"
    flag.write_text(flag.read_text().replace("enabled: false", "enabled: true"))
    changed = run(root)
    assert changed.stats.validated == 1
    assert changed.stats.cached == cold.stats.documents - 1


def test_cached_findings_equal_fresh_findings(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("qv401-qv402-qv403-parameters")
    fresh = run(root, use_cache=False)
    run(root)
    warm = run(root)
    assert warm.stats.validated == 0
    assert warm.findings == fresh.findings
    assert warm.errors == fresh.errors > 0


def test_template_change_invalidates_its_users(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("valid")
    run(root)
    template = root / "templates/strategy/base.yaml"
    template.write_text(
        template.read_text().replace("max_order_notional: 500000", "max_order_notional: 5000000")
    )
    result = run(root)
    assert result.stats.validated == 2  # strategy alpha in dev and in prod
    assert {f.code for f in result.findings} == {"QV510", "QV511"}


def test_corrupt_or_foreign_cache_is_ignored_and_rebuilt(case_tree: Callable[[str], Path]) -> None:
    from qv_config.cache import pack
    from qv_config.cache.pack import sealer

    root = case_tree("valid")
    (root / CACHE).parent.mkdir(parents=True, exist_ok=True)
    (root / CACHE).write_bytes(b"not a cache")
    first = run(root)
    assert first.stats.cached == 0
    assert first.ok
    assert run(root).stats.validated == 0  # rebuilt by the first run
    files = memo_files(root)
    assert len(files) == 2
    # Authentic, but bound to other rules' code (or without the row): not this run's.
    for extra, record in (("other rules", "row"), ("", "other")):
        for path in files:
            pack.write(path, sealer(root, path.name, extra), {record: b"x"})
        assert run(root).stats.cached == 0
    for path in files:  # not even a pack
        path.write_bytes(b"not a cache")
    assert run(root).stats.cached == 0
    assert run(root).stats.validated == 0


def test_no_cache_neither_reads_nor_writes(
    case_tree: Callable[[str], Path], qv: Callable[..., tuple[int, str, str]]
) -> None:
    root = case_tree("valid")
    code, _out, _err = qv("-C", str(root), "validate", "--no-cache")
    assert code == 0
    assert not (root / CACHE).exists()
    run(root)
    assert run(root, use_cache=False).stats.validated > 0


def test_schema_change_invalidates_an_unchanged_environment(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    assert run(root).ok
    assert run(root).stats.validated == 0
    schema = root / "schemas/configs/oms.schema.json"
    schema.write_text(schema.read_text().replace('"maximum": 65535', '"maximum": 1024'))
    result = run(root)
    assert [(f.code, f.env) for f in result.findings] == [("QV310", "dev")]
    assert result.stats.validated == 1


def test_expiry_is_rechecked_on_another_day(case_tree: Callable[[str], Path]) -> None:
    from datetime import date

    root = case_tree("valid")
    flag = root / "environments/dev/flags/kill-alpha.yaml"
    flag.write_text(flag.read_text() + '  expires: "2030-06-30"\n')
    assert run(root, today=date(2030, 6, 30)).findings == ()
    later = run(root, today=date(2030, 7, 1))
    assert [f.code for f in later.findings] == ["QV540"]
    assert later.stats.validated == 0  # documents came from the cache; only cross rules re-ran


def test_paths_filter_after_a_cached_run(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("qv501-qv502-qv505-dangling-references")
    run(root)
    filtered = run(root, paths=["templates"])
    assert {f.file for f in filtered.findings} == {"templates/strategy/base.yaml"}
    assert filtered.documents == 0  # no document has its main file under templates/
    assert run(root, paths=["strategies"]).documents == 1  # strategy alpha
