"""Rendering and checking the documents an environment's plan names, one at a time, in this
process or, for thousands, in forked workers that each take a part, two at a time
(``incremental`` decides what to render and updates the memo from what is gathered here).

Each document is checked as it is rendered and let go (memory): what is kept of it is its record
(what it was rendered from and what checking found, ``cache.results``), its cross-rule facts,
its input key and, when asked for (``RunState.value_of``: ``qv sync``), its value as bytes. A
document whose input key is its record's is not checked again. Workers send back exactly that,
as plain data (the values through an unnamed file); a (kind, name) that two parts rendered
(QV220 is found by one renderer seeing both), or facts that cannot be sent, make the
environment render in this process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from qv_config.cache.results import DocRecord, Documents, PreKey, from_row, to_row
from qv_config.findings import Finding
from qv_config.validate.engine import RunState, check_document, input_key, layers_digest
from qv_config.validate.types import DocFacts

_HEAD = struct.Struct("<II")  # a spooled value: its key's length (UTF-8), its own
_PER_WORKER = 5000  # documents a worker renders before it exits (what it leaves stays with it)
_SPOOL_BUFFER = 256 * 1024
_TICKS = 64  # documents a worker counts before it adds them to the shared count (a lock each)

if TYPE_CHECKING:
    from qv_config.render.jobs import Job
    from qv_config.render.types import Layer, RenderedDoc
    from qv_config.repo.types import Snapshot
    from qv_config.validate.incremental import EnvPlan
    from qv_config.yamlio import LoadedDoc


@dataclass
class EnvRun:
    """What rendering the plan's documents has gathered."""

    plan: EnvPlan
    before: dict[str, DocRecord]  # the memo's records of the documents rendered or gone
    digest: str  # of the Environment document, as ``EnvPlan``
    context: str
    kept: Documents = field(default_factory=Documents)  # the memo's, neither rendered nor gone
    records: dict[str, DocRecord] = field(default_factory=dict)  # by main path
    facts: dict[str, DocFacts | bytes] = field(default_factory=dict)  # by document key
    digests: dict[str, str] = field(default_factory=dict)  # doc key -> facts digest
    input_keys: dict[str, str] = field(default_factory=dict)  # doc key -> input key
    # Document key -> kind, name, main path.
    documents: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    unrecorded: list[Finding] = field(default_factory=list)  # of the documents without a record
    values: dict[str, bytes] = field(default_factory=dict)  # ``RunState.value_of``'s
    spool: IO[bytes] | None = None  # a worker writes them there instead (memory)
    cached: int = 0
    skip_main: bool = False  # the Environment document is another worker's to check


def render_and_check(snapshot: Snapshot, state: EnvRun, run: RunState) -> tuple[Finding, ...]:
    """Render and check ``state.plan.todo`` into ``state``; the renderer's findings."""
    from qv_config.repo import prefetch as workers

    todo = sorted(state.plan.todo)
    if workers.worth_it(todo):
        count = max(workers.WORKERS, -(-len(todo) // _PER_WORKER))
        found = _in_workers(snapshot, state, run, [todo[at::count] for at in range(count)])
        if found is not None:
            return found
    return _render(snapshot, state, run)


def _render(snapshot: Snapshot, state: EnvRun, run: RunState) -> tuple[Finding, ...]:
    from qv_config.render.engine import render_each

    def check(key: str, doc: RenderedDoc) -> None:
        _check_rendered(state, key, doc, run)
        run.tick(1)

    plan = state.plan
    return render_each(snapshot, plan.env, check, paths=plan.todo, memo=run.templates)


def _in_workers(
    snapshot: Snapshot, state: EnvRun, run: RunState, parts: list[list[str]]
) -> tuple[Finding, ...] | None:
    """Each part rendered and checked in a forked worker, gathered into ``state``; None when
    the parts cannot be put together (the caller renders in this process)."""
    from qv_config.repo import prefetch as workers

    warm()
    with contextlib.ExitStack() as files:  # unnamed files the workers write values to
        spools: list[IO[bytes]] = [files.enter_context(spool_file()) for _ in parts]
        # Workers count the documents they check in shared memory; this process reads the
        # count while it waits and tells its own ``tick`` (a worker never draws).
        counter = workers.SharedCount()
        job = partial(_worker, snapshot, state, replace(run, tick=counter.add), spools)
        meanwhile, run.meanwhile = run.meanwhile, None  # once
        waiting = counter.reporter(run.tick)
        received = partial(_received, spools)
        sent = workers.forked(
            job, list(enumerate(parts)), meanwhile, at_once=workers.WORKERS, waiting=waiting,
            then=received,
        )  # fmt: skip
        if any(got is None for got in sent):
            return None
        names = [set(part[-1]) for part, _ in sent]
        if sum(map(len, names)) != len(set().union(*names)):
            return None  # a (kind, name) in two parts: one renderer must see both (QV220)
        found: dict[Finding, None] = {}
        for part, values in sent:  # in the parts' order, whichever ended first
            found.update(dict.fromkeys(_take(state, run, part)))
            state.values.update(values)
        return tuple(sorted(found, key=Finding.sort_key))


def _received(
    spools: list[IO[bytes]], number: int, blob: bytes | None
) -> tuple[tuple[Any, ...], dict[str, bytes]] | None:
    """A worker's part and values, decoded as soon as it is done (the other workers still
    run); None when it could not send them. Its facts are decoded here too, for the
    cross-document rules: meanwhile, not after the last worker, when nothing else runs."""
    if blob is None:
        return None
    part = marshal.loads(blob)
    facts = {k: decode_facts(v) if type(v) is bytes else DocFacts(*v) for k, v in part[1].items()}
    return (part[0], facts, *part[2:]), _unspool(spools[number])


def spool_file() -> IO[bytes]:
    """An unnamed file a worker writes its values to: buffered by 256 KiB, not 8 (a worker
    writes ~7 MB, a write call each 8 KiB)."""
    return tempfile.TemporaryFile(buffering=_SPOOL_BUFFER)


def warm() -> None:
    """Import and build here, once, what every worker would otherwise do for itself: the
    templating sandbox, the kinds' models and their secret marks (their JSON Schemas), the JSON
    Schema validator (~0.1 s of each worker; an environment of 20,000 documents has four).
    Done before forking them, or earlier while parse workers run (``qv sync``)."""
    # ``SharedCount``'s value and its lock (~8 ms), imported here, not between the phases.
    import multiprocessing.sharedctypes
    import multiprocessing.synchronize  # noqa: F401

    import jsonschema_rs  # noqa: F401  (imported for its side effect: loaded before the fork)

    from qv_config import models
    from qv_config.models import checking  # noqa: F401
    from qv_config.models.plain import prepare as prepare_models
    from qv_config.render.sandbox import prepare

    prepare()
    prepare_models()
    for kind in models.KINDS:
        models.marks_for_kind(kind)  # cached in the process: forked workers inherit them


def _worker(
    snapshot: Snapshot,
    state: EnvRun,
    run: RunState,
    spools: list[IO[bytes]],
    job: tuple[int, list[str]],
) -> bytes | None:
    number, todo = job
    plan = replace(state.plan, todo=frozenset(todo))
    mine = replace(state, plan=plan, spool=spools[number], skip_main=number > 0)
    counted = run.validated, set(run.models_ok), run.templates.added()
    ticks = _Ticks(run.tick)
    run.tick = ticks.add  # this process's own copy of the run
    found = _render(snapshot, mine, run)
    ticks.flush()
    facts = {k: v if type(v) is bytes else _plain(v) for k, v in mine.facts.items()}
    # The (kind, name) this renderer met: its documents', its failures' (the Environment's is
    # every worker's).
    names = {(kind, name) for kind, name, _ in mine.documents.values()}
    names |= {(f.kind, f.name) for f in found if f.kind and f.name and f.kind != "Environment"}
    part = (mine.records, facts, mine.digests, mine.input_keys, mine.documents,
            [to_row(f) for f in mine.unrecorded], mine.cached,
            run.validated - counted[0], list(run.models_ok - counted[1]),
            {k: v for k, v in run.templates.added().items() if k not in counted[2]},
            [to_row(f) for f in found], mine.digest, mine.context, list(names))  # fmt: skip
    if mine.spool is not None:
        mine.spool.flush()
    try:
        return marshal.dumps(part)
    except ValueError:  # facts that cannot be sent (nor kept): this process renders instead
        return None


class _Ticks:
    """Progress told to ``tell`` every ``_TICKS`` documents, the rest on ``flush``."""

    def __init__(self, tell: Callable[[int], None]) -> None:
        self._tell = tell
        self._count = 0

    def add(self, amount: int) -> None:
        self._count += amount
        if self._count >= _TICKS:
            self.flush()

    def flush(self) -> None:
        if self._count:
            self._tell(self._count)
            self._count = 0


def _spooled(spool: IO[bytes], key: str, value: bytes) -> None:
    name = key.encode()
    spool.write(b"".join((_HEAD.pack(len(name), len(value)), name, value)))  # one call


def _unspool(spool: IO[bytes]) -> dict[str, bytes]:
    spool.seek(0)
    data = spool.read()
    out, at, head = {}, 0, _HEAD.size
    while at < len(data):
        size, length = _HEAD.unpack_from(data, at)
        at += head + size
        out[data[at - size : at].decode()] = data[at : at + length]
        at += length
    return out


def _plain(value: DocFacts | bytes) -> tuple[Any, ...] | bytes:
    return value if isinstance(value, bytes) else (value.key, value.kind, value.name, value.spec)


def _take(state: EnvRun, run: RunState, part: tuple[Any, ...]) -> list[Finding]:
    """A worker's part (its facts made ``DocFacts`` by ``_received``), added to ``state``; its
    renderer's findings."""
    records, facts, digests, input_keys, documents, unrecorded = part[:6]
    state.records.update(records)
    state.facts.update(facts)
    state.digests.update(digests)
    state.input_keys.update(input_keys)
    state.documents.update(documents)
    state.unrecorded += map(from_row, unrecorded)
    cached, validated, models_ok, templates, found, digest, context = part[6:13]
    state.cached += cached
    run.validated += validated
    run.models_ok.update(models_ok)
    run.templates.add(templates)
    if digest and not state.context:
        state.digest, state.context = digest, context
    return [from_row(row) for row in found]


def context_of(digest: str, run: RunState) -> str:
    """The environment's part of every pre-render key: its Environment document's digest,
    qv.yaml's (with the keys at hand), today."""
    return f"{digest}\n{run.project_digest}\n{run.today.isoformat()}"


def _check_rendered(state: EnvRun, key: str, doc: RenderedDoc, run: RunState) -> None:
    """Check a document rendered this run; one whose input key is its record's (the
    Environment document, rendered every run as the context of the others) is not checked."""
    plan = state.plan
    if not state.context:  # the first document rendered: the Environment, if it renders
        state.digest = layers_digest(doc) if doc.source == plan.main else "-"
        state.context = context_of(state.digest, run)
    if state.skip_main and doc.source == plan.main:
        return
    in_key = input_key(doc, state.digest, run)
    if run.value_of is not None:
        if state.spool is not None:
            _spooled(state.spool, key, run.value_of(doc))
        else:
            state.values[key] = run.value_of(doc)
    state.documents[key] = (doc.kind, doc.name, doc.source)
    state.input_keys[key] = in_key
    old = state.before.get(doc.source)
    if old is not None and old[7] == in_key and old[4] == key:
        state.records[doc.source] = old
        state.facts[key], state.digests[key] = old[9], old[10]
        state.cached += 1
        return
    found, facts = check_document(doc, run)
    encoded = encode_facts(facts)
    # Kept as bytes (one object, not a tree of small ones: fragmentation); without a digest,
    # facts count by the whole input key (and keep no record).
    state.facts[key] = encoded[0] if encoded else facts
    state.digests[key] = encoded[1] if encoded else f"input:{in_key}"
    if encoded is not None:
        state.records[doc.source] = _doc_record(doc, state.context, in_key, found, encoded, run)
    else:
        state.unrecorded += found


def prekey(job: Job, context: str) -> PreKey:
    """The inputs of a document's rendering besides its template chain, as a tuple: compared,
    not hashed (thousands per environment; the main path is the record's own key)."""
    main, role, overlay = job
    if overlay is None:
        return (context, role, main.digest, "-", "")
    return (context, role, main.digest, overlay.path, overlay.digest)


def _doc_record(
    doc: RenderedDoc,
    context: str,
    in_key: str,
    found: list[Finding],
    facts: tuple[bytes, str],
    run: RunState,
) -> DocRecord:
    chain, main, overlay = _parts(doc.layers)
    schema_path = _schema_path(doc)
    schema_digest = run.schemas.digest_of(schema_path) if schema_path else ""
    pre = prekey((main.doc, main.role, overlay), context)
    rows = tuple(map(to_row, found))
    return (pre, chain, schema_path, schema_digest, doc.key, doc.kind, doc.name, in_key,
            rows, *facts)  # fmt: skip


def _parts(
    layers: tuple[Layer, ...],
) -> tuple[tuple[tuple[str, str], ...], Layer, LoadedDoc | None]:
    """A document's template chain (names and digests), its main layer and its overlay (the
    first of each), in one pass over its layers."""
    chain: list[tuple[str, str]] = []
    main: Layer | None = None
    overlay: Layer | None = None
    for lay in layers:
        role = lay.role
        if role == "template":
            chain.append((lay.label, lay.doc.digest))
        elif role == "overlay":
            overlay = overlay or lay
        elif main is None and role in ("base", "document"):
            main = lay
    assert main is not None, "a rendered document has a base or document layer"
    return tuple(chain), main, overlay.doc if overlay is not None else None


def _schema_path(doc: RenderedDoc) -> str:
    """The service schema a Config reads (explicit ``metadata.schema`` or the one by name)."""
    if doc.kind != "Config":
        return ""
    meta = doc.data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    explicit = meta.get("schema")
    if isinstance(explicit, str) and explicit:
        return explicit.removeprefix("./")
    return f"schemas/configs/{doc.name}.schema.json"


def encode_facts(facts: DocFacts) -> tuple[bytes, str] | None:
    """Facts as bytes for a record, and their digest (None: a value that cannot be stored)."""
    # A copy, always: marshal flags objects referenced more than once, so the bytes of the record
    # would depend on who else holds the facts' dict.
    row = (facts.key, facts.kind, facts.name, dict(facts.spec))
    try:
        return marshal.dumps(row), facts_digest(row)
    except ValueError:
        return None


def decode_facts(blob: bytes) -> DocFacts:
    return DocFacts._make(marshal.loads(blob))


def facts_digest(row: tuple[Any, ...]) -> str:
    """What the cross-document rules read of a document, as a digest. repr, not marshal:
    marshal's bytes vary with string interning and object sharing; repr of plain data is exact
    (1 vs 1.0 vs True, nan and inf vs None)."""
    return hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()
