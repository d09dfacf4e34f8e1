"""Side by side: check-jsonschema and `qv validate` on the same generated repository.

    python benchmarks/bench_vs_checkjsonschema.py [--docs 10000] [--schemas DIR] [--wait S]

check-jsonschema validates raw files, without inheritance, so it gets the files that are complete
documents (no ``extends``, not overlays): each against its built-in kind schema
(``schemas/qv/<slug>.schema.json``) and each Config also against its service schema (wrapped so
that it applies to ``spec``). Files are grouped by schema so check-jsonschema runs once per schema
with many files, with its default options. qv validates the whole repository cold, and gives more
for it: line numbers, inheritance, templating and cross-document rules.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (
    OUT,
    QV,
    ROOT,
    VENV_BIN,
    Figure,
    ensure_repo,
    failure_note,
    run_child,
    table,
)

RATIO_TARGET = 5.0
SLUGS = {
    "Config": "config",
    "Flag": "flag",
    "Strategy": "strategy",
    "RiskPolicy": "risk-policy",
    "ExecutionPolicy": "execution-policy",
    "Environment": "environment",
}
NOTE = (
    "qv validate also reports file:line:col, renders inheritance, overlays and templating, and "
    "checks cross-document rules in every environment; check-jsonschema checks raw files only."
)


@dataclass(frozen=True)
class CjsResult:
    files: int  # distinct files checked
    checks: int  # (file, schema) pairs
    seconds: float
    failed_groups: tuple[str, ...]  # schemas under which check-jsonschema reported errors


class _Loader(yaml.CSafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _documents(repo: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Complete documents only: no ``extends``, not a template, not an overlay of a base."""
    out = []
    for path in sorted(repo.rglob("*.yaml")):
        rel = path.relative_to(repo).parts
        if rel[0] == "templates" or rel == ("qv.yaml",) or rel[0] == ".git":
            continue
        if rel[0] == "environments" and len(rel) > 3 and rel[2] == "strategies":
            continue  # overlay: a partial document by design
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        if isinstance(data, dict) and not data.get("extends"):
            out.append((path, data))
    return out


def _service_wrapper(schema_path: Path, folder: Path) -> Path:
    """A schema applying the service schema to ``spec`` (qv validates ``spec``, not the file)."""
    inner = json.loads(schema_path.read_text(encoding="utf-8"))
    inner.pop("$id", None)
    inner.pop("$schema", None)
    wrapper = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"spec": inner},
        "required": ["spec"],
    }
    target = folder / schema_path.name
    target.write_text(json.dumps(wrapper), encoding="utf-8")
    return target


def _groups(repo: Path, builtin: Path | None) -> dict[Path, list[Path]]:
    wrappers = OUT / "cjs-wrappers"
    shutil.rmtree(wrappers, ignore_errors=True)
    wrappers.mkdir(parents=True)
    cache: dict[Path, Path] = {}
    groups: dict[Path, list[Path]] = defaultdict(list)
    for path, data in _documents(repo):
        kind = str(data.get("kind"))
        if builtin is not None and (builtin / f"{SLUGS.get(kind, kind)}.schema.json").is_file():
            groups[builtin / f"{SLUGS.get(kind, kind)}.schema.json"].append(path)
        if kind != "Config":
            continue
        meta = data.get("metadata") or {}
        rel = meta.get("schema") or f"schemas/configs/{meta.get('name')}.schema.json"
        service = repo / rel
        if service.is_file():
            if service not in cache:
                cache[service] = _service_wrapper(service, wrappers)
            groups[cache[service]].append(path)
    return groups


def run_cjs(groups: dict[Path, list[Path]]) -> CjsResult:
    cjs = str(VENV_BIN / "check-jsonschema")
    files: set[Path] = set()
    failed: list[str] = []
    start = time.perf_counter()
    for schema, paths in sorted(groups.items()):
        run = run_child([cjs, "--schemafile", str(schema), *map(str, paths)])
        if run.returncode != 0:
            failed.append(schema.name)
        files.update(paths)
    seconds = time.perf_counter() - start
    checks = sum(len(p) for p in groups.values())
    return CjsResult(len(files), checks, seconds, tuple(failed))


def find_builtin(repo: Path, explicit: Path | None, wait: float) -> Path | None:
    """The exported built-in kind schemas; polls up to ``wait`` seconds while they are landing."""
    candidates = [explicit] if explicit else [repo / "schemas" / "qv", ROOT / "schemas" / "qv"]
    deadline = time.monotonic() + wait
    while True:
        for folder in candidates:
            if folder is not None and any(folder.glob("*.schema.json")):
                return folder
        if time.monotonic() >= deadline:
            return None
        time.sleep(5)


def compare(repo: Path, builtin: Path | None) -> list[Figure]:
    cjs = run_cjs(_groups(repo, builtin))
    scope = "kind + service schemas" if builtin else "service schemas only (schemas/qv missing)"
    cjs_rate = cjs.files / cjs.seconds if cjs.seconds else 0.0
    note = f"{cjs.files} complete files, {cjs.checks} checks, {scope}"
    if cjs.failed_groups:
        note += (
            f"; reported errors under {len(cjs.failed_groups)} schema(s): {cjs.failed_groups[0]}…"
        )
    figures = [Figure("check-jsonschema files/s", cjs_rate, "files/s", note=note)]
    shutil.rmtree(repo / ".qv", ignore_errors=True)
    qv_files = sum(1 for p in repo.rglob("*.yaml") if ".git" not in p.parts)
    run = run_child([QV, "-C", str(repo), "validate"])
    if run.returncode != 0:
        figures.append(
            Figure("qv validate files/s (cold)", None, "files/s", note=failure_note(run))
        )
        figures.append(Figure("qv ÷ check-jsonschema", None, "×", RATIO_TARGET, True))
        return figures
    qv_rate = qv_files / run.seconds
    qv_note = f"{qv_files} files (all, with templates), {run.seconds:.2f} s"
    figures.append(Figure("qv validate files/s (cold)", qv_rate, "files/s", note=qv_note))
    figures.append(Figure("qv ÷ check-jsonschema", qv_rate / cjs_rate, "×", RATIO_TARGET, True))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check-jsonschema versus qv validate.")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--schemas", type=Path, help="folder of the built-in kind schemas")
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for schemas/qv")
    args = parser.parse_args(argv)
    repo = ensure_repo(args.docs, args.seed)
    figures = compare(repo, find_builtin(repo, args.schemas, args.wait))
    print(f"repository: {repo} ({args.docs} documents)\n")
    print(table(figures))
    print(f"\n{NOTE}")
    return 1 if any(f.verdict == "FAIL" for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
