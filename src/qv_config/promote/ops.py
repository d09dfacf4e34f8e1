"""The field operations that make one rendered document of TARGET equal SOURCE's.

Paths name items of name-keyed lists by name (``ByName``), since that is how a layer merges
them (an overlay writes ``stages: [{name: canary, capital: 5}]`` to change one item); a list
whose items were removed or reordered is written whole with ``!replace``. Env-specific fields
are left alone (matched on concrete paths, list items by index, as ``qv diff`` does), and so
are secrets: ciphertext belongs to one environment's keys and MAC, and a promotion never
decrypts, so a differing secret is left for ``qv secrets edit`` by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from qv_config.diff.compute import _named_list, _same
from qv_config.diff.envspecific import Pattern, covered
from qv_config.yamlio.types import FieldPath


@dataclass(frozen=True, slots=True)
class ByName:
    """An item of a name-keyed list, by its ``name``."""

    name: str


Step = str | ByName
OpKind = Literal["set", "delete", "replace"]
IsSecret = Callable[[FieldPath, Any], bool]  # (concrete path, value) -> holds a secret
# (path) -> the field is the same template text on both sides: it differs by the environments'
# vars (``{{ env.vars.db_host }}``), and writing one side's value would freeze it.
FromVars = Callable[[tuple["Step", ...]], bool]


@dataclass(frozen=True, slots=True)
class Op:
    path: tuple[Step, ...]
    kind: OpKind  # set a value, delete a key, or replace a name-keyed list whole
    value: Any = None


@dataclass
class DocOps:
    """The operations for one document, and the secret fields left to people."""

    ops: list[Op] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # labels of the fields


class _Missing:
    pass


MISSING: Any = _Missing()


def label(path: Sequence[Step]) -> str:
    out = ""
    for step in path:
        out += f"[{step.name}]" if isinstance(step, ByName) else (f".{step}" if out else step)
    return out


def document_ops(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    skip: Sequence[Pattern],
    secret: IsSecret,
    from_vars: FromVars = lambda path: False,
) -> DocOps:
    """What makes ``old`` (TARGET's rendered document) equal ``new`` (SOURCE's), but for
    ``skip`` (env-specific), secrets and fields that ``from_vars`` says are templated alike."""
    found = DocOps()
    _Walk(skip, secret, from_vars, found).walk((), (), old, new)
    return found


@dataclass
class _Walk:
    skip: Sequence[Pattern]
    secret: IsSecret
    from_vars: FromVars
    out: DocOps

    def walk(self, path: tuple[Step, ...], at: FieldPath, old: Any, new: Any) -> None:
        if (self.skip and covered(at, self.skip)) or _same(old, new):
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in [*old, *(k for k in new if k not in old)]:
                self.walk((*path, key), (*at, key), old.get(key, MISSING), new.get(key, MISSING))
        elif _named_list(old) and _named_list(new):
            self.named(path, at, old, new)
        elif self.from_vars(path):
            return  # the same template on both sides: each environment's vars decide
        elif self.secret(at, old) or self.secret(at, new):
            self.out.secrets.append(label(path))  # what would be written holds a secret
        elif new is MISSING:
            self.out.ops.append(Op(path, "delete"))
        elif _named_list(new):
            self.out.ops.append(Op(path, "replace", new))  # merging by name would keep extras
        else:
            self.out.ops.append(Op(path, "set", new))

    def named(self, path: tuple[Step, ...], at: FieldPath, old: list[Any], new: list[Any]) -> None:
        old_names = [item["name"] for item in old]
        new_names = [item["name"] for item in new]
        kept = [name for name in old_names if name in new_names]
        if kept != [name for name in new_names if name in old_names] or len(kept) < len(old):
            if self.secret(at, new):
                self.out.secrets.append(label(path))
            else:
                self.out.ops.append(Op(path, "replace", new))  # reordered or items removed
            return
        by_name = {item["name"]: item for item in old}
        for index, item in enumerate(new):
            before = by_name.get(item["name"], MISSING)
            self.walk((*path, ByName(item["name"])), (*at, index), before, item)


def has_ciphertext(value: Any) -> bool:
    """Whether ``value`` is, or holds, a SOPS-encrypted value."""
    from qv_config.secrets.sopsfile import is_ciphertext

    if isinstance(value, dict):
        return any(has_ciphertext(v) for v in value.values())
    if isinstance(value, list):
        return any(has_ciphertext(v) for v in value)
    return is_ciphertext(value)
