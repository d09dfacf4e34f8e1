"""Unleash's bucketing: murmur3 (32-bit, x86) of ``"<groupId>:<id>"``, normalised to 1..N."""

from __future__ import annotations

import mmh3

VARIANT_SEED = 86028157  # Unleash's normalisation seed for variants (strategies use 0)


def bucket(group_id: str, identifier: str, modulus: int = 100, seed: int = 0) -> int:
    """The bucket (1..modulus) of ``identifier`` in ``group_id``."""
    return mmh3.hash(f"{group_id}:{identifier}", seed, False) % modulus + 1
