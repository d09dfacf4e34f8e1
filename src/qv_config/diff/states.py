"""Effective states of environments at Git revisions or in the work tree, rendered sparingly.

``Workspace.pair`` gives the two sides of a diff. Between two states of one environment it
renders only the documents whose own files changed (see ``diff.tree``); otherwise it renders
whole environments, each once per run and kept on disk by input key (``cache.pack.StateMemo``).
A side that does not validate carries the reason; the caller refuses it naming the side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.cache.pack import StateMemo
from qv_config.diff.envspecific import EnvSpecific, from_project, from_setting
from qv_config.diff.rendering import (
    check_env,
    problem_text,
    render_checked,
    render_full,
    render_sent,
)
from qv_config.diff.secretdiff import Openings, SecretResolver, SideFiles
from qv_config.diff.tree import ENV_FILES, context_paths, load_partial
from qv_config.errors import CheckFailed, GitError
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.repo import gitcmd, history
from qv_config.repo.source import tops

if TYPE_CHECKING:
    from qv_config.models import Project
    from qv_config.repo.git import GitSource
    from qv_config.repo.source import WorkTreeSource
    from qv_config.repo.types import Snapshot

Refs = Mapping[str, Mapping[str, Any]]
_REFUSALS = ("QV111", "QV112")  # links and names the rule of repo.files refuses
Read = Callable[[str], bytes | None]


@dataclass(frozen=True)
class CachedState:
    """A rendered environment: ``kind-slug/name`` -> document, or why the state is invalid."""

    refs: Refs
    problem: str = ""
    # The schema files it was checked against outside its input key's folders (``metadata.
    # schema`` may name any file), with their digests: the key does not stand for those.
    schemas: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class State:
    """One side: documents by ``kind-slug/name``; ``problem`` says why it does not validate."""

    env: str
    label: str
    refs: Refs
    read: Read  # reads other files of the same state (Config schemas, for marks)
    problem: str = ""
    rev: str | None = None  # full sha of the state (None: the work tree)

    def checked(self) -> State:
        if self.problem:
            raise invalid_side(self.label, self.problem, self.env)
        return self


def invalid_side(label: str, problem: str, env: str | None = None) -> CheckFailed:
    """The one error of ``qv diff`` and ``qv review`` for a side that does not validate (1)."""
    command = f"qv validate --env {env}" if env else "qv validate"
    return CheckFailed(f"side {label} is invalid: {problem}; run `{command}` on that state")


@dataclass(frozen=True)
class Settings:
    """What diffs and promotions need of a valid qv.yaml."""

    environments: tuple[str, ...]
    bases: tuple[str, ...]
    env_specific: EnvSpecific


class Workspace:
    """Everything one command reads from one repository: revisions, snapshots, rendered states."""

    def __init__(
        self,
        root: Path,
        *,
        use_cache: bool = True,
        decrypt: bool = False,
        key_file: Path | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> None:
        self.root = root
        self.progress = progress  # hears of each whole environment rendered here
        self.git = history.is_git(root)
        self.cache_root = root if use_cache else None  # None: nothing read from or kept in .qv/
        self.cache = StateMemo(self.cache_root, "render")
        self.blobs = gitcmd.Batch(root) if self.git else None
        self._sources: dict[str | None, GitSource | WorkTreeSource] = {}
        self.links: dict[tuple[str | None, tuple[str, ...]], bool] = {}  # diff.affected
        self._shas: dict[str, str] = {}
        self._snapshots: dict[str | None, Snapshot] = {}
        self._projects: dict[str | None, Project | None] = {}
        self._settings: dict[str | None, Settings | None] = {}
        self._clean: set[str] = set()  # environments whose work-tree inputs are HEAD's
        self._memo: dict[tuple[str, str], CachedState] = {}
        self._changed: dict[tuple[str | None, str | None], set[str]] = {}
        self.keys: dict[tuple[str, str], str] = {}  # (env, sha) -> input key, when known
        # Encrypted files opened to compare secrets (memory only); --decrypt shows changed ones.
        self.openings = Openings(key_file, decrypt)
        if decrypt:
            self.openings.ring()  # a key file that cannot be read fails now, not mid-way

    # ------------------------------------------------------------ revisions and files

    def resolve(self, rev: str | None) -> str | None:
        """Full sha of ``rev`` (None: the work tree); unknown or shallow: exit 3 with the fix."""
        if rev is None:
            return None
        if not self.git:
            raise GitError(
                f"revision {rev!r} needs a Git repository, and {self.root} is not in one",
                hint="run inside a Git checkout, or compare work-tree environments only",
            )
        if rev not in self._shas:
            from qv_config.repo.git import GitSource

            source = GitSource(self.root, rev, batch=self.blobs)
            assert source.revision is not None
            self._shas[rev] = source.revision
            self._sources.setdefault(source.revision, source)
        return self._shas[rev]

    def source(self, sha: str | None) -> GitSource | WorkTreeSource:
        """The files of a state (None: the work tree), read by the rule of ``repo.files``."""
        if sha not in self._sources:
            from qv_config.repo import GitSource, WorkTreeSource

            if sha is None or self.blobs is None:
                self._sources[sha] = WorkTreeSource(self.root)
            else:
                self._sources[sha] = GitSource(self.root, sha, batch=self.blobs)
        return self._sources[sha]

    def read_at(self, sha: str | None) -> Read:
        return self.source(sha).read

    def project(self, sha: str | None) -> Project | None:
        """qv.yaml of a state (None when missing or invalid; loading reports why)."""
        if sha not in self._projects:
            self._projects[sha] = _parse_project(self.read_at(sha)("qv.yaml"))
        return self._projects[sha]

    def settings(self, sha: str | None) -> Settings | None:
        """What a diff needs of qv.yaml (None when missing or invalid), kept by its content in
        ``.qv/cache/project/``: a warm run then never imports pydantic and the models."""
        if sha not in self._settings:
            self._settings[sha] = self._read_settings(sha)
        return self._settings[sha]

    def _read_settings(self, sha: str | None) -> Settings | None:
        import hashlib

        raw = self.read_at(sha)("qv.yaml")
        if raw is None:
            return None
        digest = hashlib.blake2b(raw, digest_size=20).hexdigest()
        memo = StateMemo(self.cache_root, "project")
        kept = memo.get("qv.yaml", digest)
        if isinstance(kept, list) and len(kept) == 3:
            return Settings(tuple(kept[0]), tuple(kept[1]), from_setting(kept[2]))
        project = self.project(sha)
        if project is None:
            return None
        spec = project.spec
        memo.put("qv.yaml", digest, [list(spec.environments), list(spec.bases), spec.env_specific])
        return Settings(tuple(spec.environments), tuple(spec.bases), from_project(project))

    def project_problem(self, sha: str | None) -> str:
        """Why qv.yaml of a state is missing or invalid, as a side's problem reads."""
        snap = load_partial(self.source(sha), ["qv.yaml"])
        found = [f for f in snap.findings if f.file == "qv.yaml"]
        return problem_text(found) or "qv.yaml is missing"

    def bases(self, sha: str | None) -> list[str]:
        settings = self.settings(sha)
        return list(settings.bases) if settings else ["strategies"]

    def changed(self, old: str | None, new: str | None) -> set[str]:
        if (old, new) not in self._changed:
            if old == new:
                self._changed[(old, new)] = set()
            elif old is None:  # the set of differing paths is symmetric
                self._changed[(old, new)] = self.changed(new, old)
            else:
                read = tops({*self.bases(None), *self.bases(old)}) if new is None else ()
                self._changed[(old, new)] = history.changed_paths(self.root, old, new, read)
        return self._changed[(old, new)]

    def snapshot(self, sha: str | None) -> Snapshot:
        if sha not in self._snapshots:
            from qv_config.repo import load_snapshot

            self._snapshots[sha] = load_snapshot(self.source(sha))
        return self._snapshots[sha]

    # ------------------------------------------------------------ states

    def pair(
        self, env: str, old: str | None, new: str | None, labels: tuple[str, str]
    ) -> tuple[State, State]:
        """Both states of ``env``; only documents that can differ, when that set is known."""
        keep = self.render_paths(env, old, new) if self._diffable(old, new) else None
        if keep is None:
            return self.full(env, old, labels[0]), self.full(env, new, labels[1])
        return self.partial(env, old, keep, labels[0]), self.partial(env, new, keep, labels[1])

    def render_paths(self, env: str, old: str | None, new: str | None) -> set[str] | None:
        """``diff.affected.render_paths`` of this workspace."""
        from qv_config.diff.affected import render_paths

        return render_paths(self, env, old, new)

    def _diffable(self, old: str | None, new: str | None) -> bool:
        return old == new or self.git

    def fulls(self, wanted: Sequence[tuple[str, str | None, str]]) -> list[State]:
        """``full`` of each (env, sha, label): those no cache holds are rendered side by side
        in forked workers when there are two or more of a large repository."""
        self._check_clean({env for env, sha, _ in wanted if sha is None})
        todo = []
        for env, sha, _ in wanted:
            key = self._input_key(env, sha)
            if key and self._cached(env, key, sha) is None:
                todo.append((env, sha, key))
        if len(todo) > 1:
            self._render_apart(todo)
        return [self.full(env, sha, label) for env, sha, label in wanted]

    def _check_clean(self, envs: set[str]) -> None:
        """One ``git status`` for the work-tree inputs of ``envs`` instead of one each."""
        if not self.git or len(envs) < 2:
            return
        bases = self.bases(None)
        paths = sorted({p for env in envs for p in history.input_paths(env, bases)})
        if history.worktree_clean(self.root, paths):
            self._clean |= envs

    def _cached(self, env: str, key: str, sha: str | None) -> CachedState | None:
        """The state kept under ``key``, if it holds at ``sha``: a revision with the same key
        may read other bytes of the schema files outside the key's folders."""
        found = self._memo.get((env, key))
        if found is None:
            kept = self.cache.get(env, key)
            if isinstance(kept, tuple) and len(kept) == 3:
                schemas = tuple((path, digest) for path, digest in kept[2])
                found = self._memo[(env, key)] = CachedState(kept[1], kept[0], schemas)
        if found is not None and found.schemas:  # rare: validation's modules are not loaded
            from qv_config.validate import schemafiles

            if not schemafiles.unchanged(self.read_at(sha), found.schemas):
                return None
        return found

    def _keep(self, env: str, sha: str | None, key: str, state: CachedState) -> CachedState:
        """Keep a state just rendered under its key, with the schema files outside the key's
        folders it read (their digests now)."""
        from qv_config.validate import schemafiles

        named = {schemafiles.named(doc) for doc in state.refs.values()}
        read = self.read_at(sha)
        outside = history.outside(named, self._paths(env, sha))
        state = replace(
            state, schemas=tuple((p, schemafiles.file_digest(read, p)) for p in outside)
        )
        self.cache.put(env, key, (state.problem, dict(state.refs), list(state.schemas)))
        self._memo[(env, key)] = state
        return state

    def _render_apart(self, todo: list[tuple[str, str | None, str]]) -> None:
        """Render and check whole environments in forked workers, one each (two at a time);
        what a worker could not send is rendered here later, by ``full``."""
        import marshal
        from functools import partial

        from qv_config.repo import load_snapshot
        from qv_config.repo import prefetch as workers

        # Loaded once, shared by the workers; only the folders of the environments rendered.
        envs: dict[str | None, list[str]] = {}
        for env, sha, _ in todo:
            envs.setdefault(sha, []).append(env)
        snaps = {sha: load_snapshot(self.source(sha), envs=names) for sha, names in envs.items()}
        for env, sha, _ in todo:
            check_env(snaps[sha], env)  # a usage error is raised here, not in a worker
        if not any(workers.worth_it(list(s.digests)) for s in snaps.values()):
            return
        sent = workers.in_workers(partial(render_sent, snaps), [(e, s) for e, s, _ in todo])
        for (env, sha, key), blob in zip(todo, sent, strict=True):
            if blob is not None and self._still_head(env, sha):
                problem, refs = marshal.loads(blob)
                self._keep(env, sha, key, CachedState(refs, problem))

    def full(self, env: str, sha: str | None, label: str) -> State:
        key = self._input_key(env, sha)
        cached = self._cached(env, key, sha) if key else None
        if cached is None:
            self.progress.start(f"rendering {label}", 0)
            cached = render_full(self.snapshot(sha), env)
            self.progress.advance(len(cached.refs))
            if key and self._still_head(env, sha):
                cached = self._keep(env, sha, key, cached)
        return State(env, label, cached.refs, self.read_at(sha), cached.problem, sha)

    def _still_head(self, env: str, sha: str | None) -> bool:
        """Whether a state just rendered may be kept under its input key: a revision's always;
        the work tree's (under HEAD's key) only if it is still HEAD's, so that an edit made
        while it rendered is never kept as HEAD's render."""
        if sha is None and not history.worktree_clean(self.root, self._paths(env, None)):
            self._clean.discard(env)
            return False
        return True

    def _paths(self, env: str, sha: str | None) -> tuple[str, ...]:
        return history.input_paths(env, self.bases(sha))

    def _input_key(self, env: str, sha: str | None) -> str | None:
        if not self.git:
            return None
        paths = self._paths(env, sha)
        if sha is None:
            if env not in self._clean and not history.worktree_clean(self.root, paths):
                return None
            self._clean.add(env)
            sha = self.resolve("HEAD")
            assert sha is not None
        if (env, sha) not in self.keys:
            self.keys[(env, sha)] = history.input_keys(self.root, [sha], paths)[sha]
        return self.keys[(env, sha)]

    def partial(self, env: str, sha: str | None, keep: set[str], label: str) -> State:
        wanted = [*context_paths(env), *sorted(keep)]
        snap = load_partial(self.source(sha), wanted)
        files = set(snap.digests) | {f.file for f in snap.findings if f.code in _REFUSALS}
        checked = render_checked(snap, env, files)
        return State(env, label, *checked, sha)

    def secrets(self, old: State, new: State) -> SecretResolver:
        """How ``diff_documents`` settles secret fields between these two states."""
        return self.openings.resolver(self._side_files(old), self._side_files(new))

    def _side_files(self, state: State) -> SideFiles:
        folders = (f"environments/{state.env}", "templates", *self.bases(state.rev))
        return SideFiles(self.root, state.rev, folders, state.read, self.git)

    def close(self) -> None:
        if self.blobs is not None:
            self.blobs.close()


def _parse_project(raw: bytes | None) -> Project | None:
    from pydantic import ValidationError

    from qv_config.models import Project
    from qv_config.yamlio import YamlError, load_bytes

    if raw is None:
        return None
    try:
        return Project.model_validate(load_bytes("qv.yaml", raw).data)
    except (YamlError, ValidationError):
        return None


__all__ = ["ENV_FILES", "State", "Workspace", "invalid_side"]
