"""Errors of the runtime stores. All are operational (exit 3) unless a check refused the change."""

from __future__ import annotations

from qv_config.errors import CheckFailed, OperationalError


class StoreError(OperationalError):
    """The store is unreachable, refused a credential, or holds something qv cannot use."""


class MetaCorruptError(StoreError):
    """``P/{env}/_meta`` exists but is not the JSON object qv writes."""


class TooLargeError(StoreError):
    """A change does not fit in one transaction of this store; it is refused whole, never split."""


class FenceConflict(StoreError):
    """``_meta`` changed between the read and the commit: another writer applied in between."""


class ApplyRefused(CheckFailed):
    """The apply breaks a rule: not a descendant of the deployed revision, unknown target."""
