"""``render_environment``: the effective documents of one environment (SPEC §3).

One pass: build each document's layers (templates, base or document, overlay), merge them,
check the envelope, drop duplicates, then template. Every problem becomes a ``Finding`` and only
that document is left out; rendering never stops at the first problem.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

from qv_config.cache.templates import NO_VALUES, TemplateValues
from qv_config.errors import UsageError
from qv_config.findings import Finding
from qv_config.names import env_hint
from qv_config.render.envelope import (
    deployable,
    envelope_ok,
    inherit_finding,
    names_ok,
    overlay_ok,
)
from qv_config.render.inherit import InheritError, body
from qv_config.render.jobs import env_jobs
from qv_config.render.merge import merge, merge_layers
from qv_config.render.provenance import locate
from qv_config.render.run import Merged, RenderRun, meta, text
from qv_config.render.sealing import sealed
from qv_config.render.selectors import Selector, check_all_match, parse_selectors, selected
from qv_config.render.templating import Walker, union
from qv_config.render.types import Layer, LayerRole, RenderedDoc, RenderedEnv
from qv_config.repo.types import EnvFiles, Snapshot
from qv_config.yamlio import LoadedDoc
from qv_config.yamlio.loader import release


def render_environment(
    snapshot: Snapshot,
    env: str,
    selectors: Sequence[str] = (),
    *,
    paths: Collection[str] | None = None,
    memo: TemplateValues = NO_VALUES,
) -> RenderedEnv:
    """The effective documents of ``env`` (optionally only those matching ``selectors``).

    ``paths`` renders only the documents whose main file (base or environment document) is one
    of them, plus the Environment document (the templating context): for callers that know the
    other documents are unchanged (validate's incremental run). Duplicates among the documents
    left out are then not detected: the caller checks them. ``memo`` keeps the values of
    template strings that do not read ``doc`` across runs (the caller saves it).
    """
    docs: dict[str, RenderedDoc] = {}
    findings = render_each(snapshot, env, docs.__setitem__, selectors, paths=paths, memo=memo)
    return RenderedEnv(env, dict(sorted(docs.items())), findings)


def render_each(
    snapshot: Snapshot,
    env: str,
    consume: Callable[[str, RenderedDoc], object],
    selectors: Sequence[str] = (),
    *,
    paths: Collection[str] | None = None,
    memo: TemplateValues = NO_VALUES,
) -> tuple[Finding, ...]:
    """``render_environment`` one document at a time: each is handed to ``consume(key, doc)``
    as soon as it is rendered (the Environment document first) and nothing is kept, so a caller
    that checks or writes each document holds one at a time (50,000 documents). Returns the
    findings, sorted. A selector that matches nothing raises after the documents were handed."""
    # Rendering allocates many small acyclic dicts next to a large live heap (the snapshot):
    # the cyclic GC would repeatedly traverse that heap for nothing, doubling the run time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _render(snapshot, env, selectors, paths, memo, consume)
    finally:
        if enabled:
            gc.enable()


def _render(
    snapshot: Snapshot,
    env: str,
    selectors: Sequence[str],
    paths: Collection[str] | None,
    memo: TemplateValues,
    consume: Callable[[str, RenderedDoc], object],
) -> tuple[Finding, ...]:
    files = snapshot.environments.get(env)
    if files is None or env not in snapshot.env_names:
        raise UsageError(f"unknown environment {env!r}", hint=env_hint(env, snapshot.env_names))
    chosen = parse_selectors(selectors)
    run = RenderRun(snapshot, env)
    seen: dict[tuple[str, str], str] = {}  # (kind, name) -> main file: duplicates are QV220
    env_doc = _env_doc(run, files, seen)
    walker = Walker(run.limits, memo)
    context, env_rendered = _context(run, env_doc, walker)
    if env_rendered is not None and selected(chosen, env_rendered.kind, env_rendered.name):
        consume(env_rendered.key, env_rendered)
    names = [(env_doc.kind, env_doc.name)] if env_doc is not None else []
    for main, role, overlay in env_jobs(snapshot, files):
        if main is files.environment or (paths is not None and main.path not in paths):
            continue
        item = _merge_one(run, main, role, overlay)
        if item is None or not _unique(run, item, seen):
            continue
        names.append((item.kind, item.name))
        if selected(chosen, item.kind, item.name):
            rendered = _template(run, item, context, walker)
            if rendered is not None:
                consume(rendered.key, rendered)
        release(main, overlay)  # the next documents need not its values: memory
    # Documents that failed to merge still count as matched: their findings are the answer.
    failed = ((f.kind, f.name) for f in run.findings if f.kind and f.name)
    check_all_match(chosen, [*names, *failed], env)
    findings = [f for f in run.findings if _keep(f, chosen, env_doc)]
    return tuple(sorted(findings, key=Finding.sort_key))


def _keep(finding: Finding, chosen: tuple[Selector, ...], env_doc: Merged | None) -> bool:
    if not chosen:
        return True
    if env_doc is not None and finding.kind == "Environment" and finding.name == env_doc.name:
        return True
    return (
        finding.kind is not None
        and finding.name is not None
        and selected(chosen, finding.kind, finding.name)
    )


def _unique(run: RenderRun, item: Merged, seen: dict[tuple[str, str], str]) -> bool:
    mine = _main(item).doc.path
    other = seen.setdefault((item.kind, item.name), mine)
    if other is mine:
        return True
    run.add(
        "QV220",
        f"duplicate {item.kind} {item.name!r}: defined in {other} and in {mine}; "
        "rename or remove one",
        item.locate(("metadata", "name")),
        ("metadata", "name"),
        item.kind,
        item.name,
    )
    return False


def _main(item: Merged) -> Layer:
    for lay in item.layers:  # a loop, not next() over a generator: once per document
        if lay.role in ("base", "document"):
            return lay
    raise StopIteration  # as next() did: every merged document has its main layer


def _merge_one(
    run: RenderRun, main: LoadedDoc, role: LayerRole, overlay: LoadedDoc | None
) -> Merged | None:
    if not isinstance(main.data, dict):
        run.add("QV108", "a document must be a mapping", run.at(main, ()))
        return None
    try:
        names = run.cache.chain(main)
    except InheritError as err:
        inherit_finding(run, err, main)
        return None
    chain, chain_trie, named = run.cache.chain_info(names)
    _, trie, scan = run.cache.scanned(main)
    over = run.cache.scanned(overlay) if overlay is not None else None
    layers = [*chain, Layer.made(role, main.path, main)]
    # Before merging: merging by a repeated or unhashable name is ambiguous. Only a layer whose
    # walk saw such a name can have one (names_ok says where).
    if named or scan.names or (over is not None and over[2].names):
        docs = [lay.doc for lay in layers]
        if not names_ok(run, [*docs, overlay] if overlay is not None else docs, main):
            return None
    data = _merged(run, names, main, not scan.unclean)
    trie = union(chain_trie, trie)
    if overlay is not None and over is not None:
        if not overlay_ok(run, overlay, data):
            return None
        layers.append(Layer.made("overlay", overlay.path, overlay))
        data = merge(data, overlay.data, not over[2].unclean)
        trie = union(trie, over[1])
    kind, name = text(data.get("kind")), text(meta(data).get("name"))
    item = Merged(tuple(layers), data, kind, name, trie)
    return item if envelope_ok(run, item) else None


def _merged(run: RenderRun, names: tuple[str, ...], main: LoadedDoc, clean: bool) -> dict[str, Any]:
    """``main`` on its template chain: a clean main document (``TemplateCache.clean``) is taken
    as it is, where ``merge.fresh`` would have walked it to return it unchanged."""
    if names:
        return merge(run.cache.merged_chain(names), body(main), clean)  # type: ignore[no-any-return]
    return body(main) if clean else merge_layers([body(main)])


def _env_doc(run: RenderRun, files: EnvFiles, seen: dict[tuple[str, str], str]) -> Merged | None:
    """The merged environment.yaml of E; a misnamed one is reported (QV204) and left out."""
    if files.environment is None:
        return None
    found = _merge_one(run, files.environment, "document", None)
    if found is None or not _unique(run, found, seen):
        return None
    if (found.kind, found.name) == ("Environment", run.env):
        return found
    run.add(
        "QV204",
        f"{_main(found).doc.path} must be kind Environment named {run.env!r} "
        f"(found {found.kind} {found.name!r}); rename metadata.name to {run.env}",
        found.locate(("metadata", "name")),
        ("metadata", "name"),
        found.kind,
        found.name,
    )
    return None


def _context(
    run: RenderRun, env_doc: Merged | None, walker: Walker
) -> tuple[dict[str, Any], RenderedDoc | None]:
    """Template context; ``env`` comes from the Environment document, itself rendered once
    with the vars as written (one pass: vars referring to vars are not resolved recursively)."""
    project_data = run.snapshot.project_doc.data if run.snapshot.project_doc else {}
    project_meta = meta(project_data) if isinstance(project_data, dict) else {}
    project = {"name": project_meta.get("name"), "environments": list(run.snapshot.env_names)}
    raw = env_doc.data if env_doc is not None else {}
    context: dict[str, Any] = {"env": _env_vars(run, raw, env_doc), "project": project}
    if env_doc is None:
        return context, None
    rendered = _template(run, env_doc, context, Walker(run.limits))  # its own: another context
    if rendered is not None:
        context = {**context, "env": _env_vars(run, dict(rendered.data), env_doc)}
    return context, rendered


def _env_vars(run: RenderRun, data: dict[str, Any], env_doc: Merged | None) -> dict[str, Any]:
    spec = data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    env_vars = spec.get("vars")
    found = {
        "name": run.env,
        "tier": spec.get("tier"),
        "vars": env_vars if isinstance(env_vars, dict) else {},
    }
    secrets = run.secrets.of(env_doc.layers, ("spec",)) if env_doc is not None else []
    secrets = [path for path in secrets if path[0] in ("vars", "tier")]  # what ``env`` shows
    return sealed(found, secrets, "env") if secrets else found


def _template(
    run: RenderRun, item: Merged, context: dict[str, Any], walker: Walker
) -> RenderedDoc | None:
    doc = meta(item.data)
    secrets = run.secrets.of(item.layers, ("metadata",))
    if secrets:  # a secret in metadata (rare): out of templates' reach too
        doc = sealed(doc, secrets, "doc")
    data, problems = walker.render(item.data, {**context, "doc": doc}, item.trie)
    for problem in problems:
        run.add(
            problem.code,
            problem.message,
            item.locate(problem.path),
            problem.path,
            item.kind,
            item.name,
        )
    blob = None if problems else deployable(run, item, data)
    if blob is None:
        return None
    locator = partial(locate, item.layers, item.data)
    return RenderedDoc.made(run.env, item.kind, item.name, data, item.layers, locator, blob)
