"""Read-only views of parsed JSON, built once per snapshot: every reader thread shares them, so a
caller that mutated what ``get`` returned would change it for all the others."""

from __future__ import annotations

from typing import Any, NoReturn


class FrozenDict(dict[str, Any]):
    """A ``dict`` (JSON encoders and ``isinstance(x, dict)`` accept it) that refuses changes."""

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise TypeError("a document served by ConfigClient is read-only (copy it to change it)")

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, object]) -> Any:
        return thaw(self)


def freeze(value: Any) -> Any:
    """JSON objects as FrozenDict, arrays as tuples, scalars as they are."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A mutable deep copy (plain dicts and lists) of a frozen value."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
