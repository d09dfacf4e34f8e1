"""The change feed: requests that wait for the next apply (long poll, or Server-Sent Events).

The client's follower thread calls ``Hub.on_update``; the hub wakes the waiting requests on the
server's event loop (``call_soon_threadsafe``), so a wait costs no thread and no polling.
"""

from __future__ import annotations

import asyncio
import contextlib

from qv_config.client.client import Update


class Hub:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[Update]] = set()

    def on_update(self, update: Update) -> None:
        """Called on the client's thread after each new state (and staleness change)."""
        loop = self.loop
        if update.event == "updated" and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake, update)

    def _wake(self, update: Update) -> None:
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(update)

    def waiter(self) -> asyncio.Future[Update]:
        """A future of the next apply; register it before looking at the served revision, so
        that an apply in between is not missed."""
        self.loop = asyncio.get_running_loop()
        future: asyncio.Future[Update] = self.loop.create_future()
        self._waiters.add(future)
        return future

    async def wait(self, future: asyncio.Future[Update], timeout: float) -> Update | None:
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            self._waiters.discard(future)
