"""qv's random draws made visible: a case whose answer depends on a coin is not compared."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qv_config.flags import strategies, variants


class Coin(Exception):
    """qv reached a random draw: the answer is not a function of the context."""


class _NoCoins:
    def randint(self, *_: object) -> int:
        raise Coin

    def randrange(self, *_: object) -> int:
        raise Coin


@contextmanager
def no_coins() -> Iterator[None]:
    saved = strategies.random, variants.random
    strategies.random = variants.random = _NoCoins()  # type: ignore[assignment]
    try:
        yield
    finally:
        strategies.random, variants.random = saved
