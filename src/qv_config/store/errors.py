"""Errors of the runtime stores. All are operational (exit 3) unless a check refused the change."""

from __future__ import annotations

from qv_config.errors import CheckFailed, OperationalError


class StoreError(OperationalError):
    """The store is unreachable, refused a credential, or holds something qv cannot use."""


class StoreLost(StoreError):
    """The SQLite store file was deleted or replaced under an open connection: writes would go
    to a file nobody reads any more (deleted) or to the old one (replaced)."""

    def __init__(self, path: str, reason: str, aside: tuple[str, ...] = ()) -> None:
        moved = f" (the old file's {', '.join(aside)} moved aside: not replayed)" if aside else ""
        super().__init__(
            f"the SQLite store file {path} was {reason} while qv had it open{moved}",
            hint="restore the file, or run `qv sync` to create a store (qv never re-creates a"
            " deleted store silently)",
        )
        self.path = path
        self.reason = reason  # "deleted" or "replaced"
        self.aside = aside  # the old file's -wal/-shm, renamed to <name>.replaced


class NoStore(StoreError):
    """A command that only reads found no SQLite store file: nothing was synced to it yet (it
    never creates one: an empty store would read as "nothing deployed", not as a wrong path)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"there is no store at {path}: nothing was synced to it yet",
            hint="run `qv sync --env ENV` to create it, or name the store you mean with --store"
            " or QV_STORE",
        )
        self.path = path


class ChangesLost(StoreError):
    """The change events after a position are gone (etcd history compacted): a follower must
    read the whole state again and follow from there."""


class MetaCorruptError(StoreError):
    """``P/{env}/_meta`` exists but is not the JSON object qv writes."""


class TooLargeError(StoreError):
    """A change does not fit in one transaction of this store; it is refused whole, never split."""


class FenceConflict(StoreError):
    """``_meta`` changed between the read and the commit: another writer applied in between."""


class ApplyRefused(CheckFailed):
    """The apply breaks a rule: not a descendant of the deployed revision, unknown target."""
