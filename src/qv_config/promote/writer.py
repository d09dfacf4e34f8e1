"""The file edits of a promotion, kept in memory: each TARGET file's text before and after.

A changed document is edited where it lives in TARGET (its overlay, created when missing, or
its own file); a document only SOURCE has is copied to the same place under TARGET (its
file's text, comments included, without ciphertext or the ``sops`` block); a document only
TARGET has is removed. Secrets are never written (``promote.ops``): each is left to a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qv_config.diff.compute import MarkLookup
from qv_config.diff.envspecific import EnvSpecific
from qv_config.diff.model import EnvDiff
from qv_config.errors import CheckFailed
from qv_config.promote.layers import (
    Home,
    apply_ops,
    homes,
    lower_value,
    raw_value,
    templated_alike,
)
from qv_config.promote.model import ByHand, FileEdit, FileOp
from qv_config.promote.ops import IsSecret, document_ops, has_ciphertext

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot
    from qv_config.yamlio.types import FieldPath

Refs = Mapping[str, Mapping[str, Any]]


def secret_reason(path: str) -> str:
    return (
        "secret: never decrypted to be copied, and ciphertext belongs to one environment's keys;"
        f" if it should change, run `qv secrets edit {path}`"
    )


@dataclass
class Writer:
    snap: Snapshot  # the commit promoted from (SOURCE's and TARGET's folders)
    source: str
    target: str
    skip: EnvSpecific
    marks: MarkLookup
    texts: dict[str, str | None] = field(default_factory=dict)  # path -> text (None: removed)
    originals: dict[str, str] = field(default_factory=dict)  # path -> text ("" when created)
    carries: dict[str, set[str]] = field(default_factory=dict)  # path -> documents
    overlays: set[str] = field(default_factory=set)
    by_hand: dict[tuple[str, str], ByHand] = field(default_factory=dict)
    scope: set[str] = field(default_factory=set)  # the documents promoted (either side)
    removed: set[str] = field(default_factory=set)
    sources: dict[str, Home] = field(default_factory=dict)  # SOURCE's documents' files
    main_of: dict[str, str] = field(default_factory=dict)  # edited file -> its document's main

    def first(self, diff: EnvDiff, src: Refs, tgt: Refs) -> None:
        """The edits that remove ``diff`` (TARGET → SOURCE)."""
        self.scope = set(src) | set(tgt)
        wanted = {change.ref for change in diff.changes}
        here = homes(self.snap, self.target, wanted & set(tgt))
        there = homes(self.snap, self.source, wanted & set(src))
        self.sources = there
        for change in diff.changes:
            if change.op == "changed":
                self.change(self.snap, here, change.ref, tgt[change.ref], src[change.ref])
            elif change.op == "added":
                self.add(there[change.ref])
            else:
                self.remove(here.get(change.ref), change.ref)

    def more(self, snap: Snapshot, residual: EnvDiff, after: Refs, src: Refs) -> bool:
        """Edits for what still differs after the last ones; False when none could be made
        (what is left, if anything, is left to people: secrets)."""
        was = dict(self.texts)
        here = homes(snap, self.target, {change.ref for change in residual.changes})
        for change in residual.changes:
            if change.op != "changed":
                raise CheckFailed(
                    f"{change.ref} is still {change.op} in {self.target} after the edits; "
                    "nothing was written",
                    hint="promote that document by hand",
                )
            self.change(snap, here, change.ref, after[change.ref], src[change.ref])
        return self.texts != was

    def change(
        self, snap: Snapshot, here: Mapping[str, Home], ref: str, old: Any, new: Any
    ) -> None:
        home = here.get(ref)
        if home is None:
            raise CheckFailed(f"cannot tell which file of {self.target} holds {ref}")
        kind = str(new.get("kind", ""))
        there = self.sources.get(ref)
        alike = (
            templated_alike(raw_value(snap, home), raw_value(self.snap, there))
            if there is not None
            else lambda path: False
        )
        found = document_ops(old, new, self.skip.for_kind(kind), self._secret(new), alike)
        for label in found.secrets:
            self.by_hand[(ref, label)] = ByHand(ref, label, secret_reason(home.path))
        if not found.ops:
            return
        doc = self._load(snap, home)
        apply_ops(doc, found.ops, lower_value(snap, home))
        self.main_of[home.path] = home.main.path
        self._store(home.path, doc, ref, home.overlay)

    def add(self, home: Home) -> None:
        """A document of SOURCE alone, copied to the same place under TARGET."""
        if home.overlay:
            raise CheckFailed(f"{home.ref} is a base document missing from {self.target}")
        rel = home.path.removeprefix(f"environments/{self.source}/")
        path = f"environments/{self.target}/{rel}"
        if self.snap.read(path) is not None:
            raise CheckFailed(
                f"cannot copy {home.ref} to {path}: {self.target} has that file already",
                hint="rename one of the two files so that each document has its own",
            )
        text = _read(self.snap, home.path)
        if home.path in self.snap.encrypted:
            text = self._without_secrets(text, home.ref, path)
        self.originals[path] = ""
        self.texts[path] = text
        self.main_of[path] = path
        self.carries.setdefault(path, set()).add(home.ref)

    def remove(self, home: Home | None, ref: str) -> None:
        """A document of TARGET alone, removed (a base document cannot be)."""
        if home is None or home.overlay:
            raise CheckFailed(f"cannot remove {ref} from {self.target}: it is not its own file")
        self.originals[home.path] = _read(self.snap, home.path)
        self.texts[home.path] = None
        self.carries.setdefault(home.path, set()).add(ref)
        self.removed.add(ref)

    # ------------------------------------------------------------ results

    def edits(self) -> tuple[FileEdit, ...]:
        out = []
        for path in sorted(self.texts):
            text, before = self.texts[path], self.originals[path]
            op: FileOp = "delete" if text is None else "create" if not before else "edit"
            refs = tuple(sorted(self.carries.get(path, ())))
            out.append(FileEdit(path, op, refs, before, text or "", path in self.overlays))
        return tuple(out)

    def left(self) -> tuple[ByHand, ...]:
        return tuple(self.by_hand[key] for key in sorted(self.by_hand))

    def removed_refs(self) -> set[str]:
        return set(self.removed)

    def mains(self) -> set[str]:
        """Main files of the documents the edits change (what renders them again)."""
        return {self.main_of[path] for path in self.texts if path in self.main_of}

    # ------------------------------------------------------------ files

    def _secret(self, doc: Mapping[str, Any]) -> IsSecret:
        def secret(path: FieldPath, value: Any) -> bool:
            return has_ciphertext(value) or self.marks(doc, path)[1]

        return secret

    def _load(self, snap: Snapshot, home: Home) -> Any:
        from ruamel.yaml.comments import CommentedMap

        from qv_config.yamlio.writer import load_roundtrip

        path = home.path
        if path not in self.originals:
            self.originals[path] = _read(snap, path) if home.doc is not None else ""
        text = self.texts.get(path) or self.originals[path]
        doc = load_roundtrip(text) if text else None
        if not isinstance(doc, dict):
            doc = CommentedMap()
            doc.yaml_set_start_comment(
                f"{self.target} overlay of {home.main.path}, written by `qv promote` "
                f"from {self.source}."
            )
        return doc

    def _store(self, path: str, doc: Any, ref: str, overlay: bool) -> None:
        from qv_config.yamlio.writer import dump_roundtrip

        after = dump_roundtrip(doc) if doc else ""
        self.carries.setdefault(path, set()).add(ref)
        if overlay:
            self.overlays.add(path)
        if after == self.originals[path] or (not doc and not self.originals[path]):
            self.texts.pop(path, None)  # back to what it was, or an overlay with nothing in it
        elif not doc and overlay:
            self.texts[path] = None  # an overlay left with nothing to say is removed
        else:
            self.texts[path] = after

    def _without_secrets(self, text: str, ref: str, path: str) -> str:
        """An encrypted file's text without its ciphertext values and ``sops`` block: each
        value left out is a secret to set by hand in TARGET."""
        from qv_config.yamlio.writer import dump_roundtrip, load_roundtrip

        doc = load_roundtrip(text)
        doc.pop("sops", None)
        for label in _drop_ciphertext(doc, ""):
            self.by_hand[(ref, label)] = ByHand(ref, label, secret_reason(path))
        return str(dump_roundtrip(doc))


def _drop_ciphertext(node: Any, at: str) -> list[str]:
    """Remove every ciphertext value under ``node``; their labels."""
    gone: list[str] = []
    if isinstance(node, dict):
        for key in list(node):
            label = f"{at}.{key}" if at else str(key)
            if has_ciphertext(node[key]) and not isinstance(node[key], dict | list):
                del node[key]
                gone.append(label)
            else:
                gone += _drop_ciphertext(node[key], label)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            gone += _drop_ciphertext(item, f"{at}[{index}]")
    return gone


def _read(snap: Snapshot, path: str) -> str:
    data = snap.read(path)
    return data.decode("utf-8") if data is not None else ""
