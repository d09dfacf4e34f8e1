"""Rule families; importing this package registers every rule with the registry."""

from qv_config.validate.rules import (  # noqa: F401
    approvals,
    capital,
    document,
    flags,
    lifecycle,
    limits,
    references,
    secrets,
)
