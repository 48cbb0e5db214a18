"""Consume Kubernetes watches and log streams with a deadline, from plain synchronous code.

lightkube's synchronous ``watch`` reconnects forever and its ``log(follow=True)`` blocks
until the next line, so neither can honour a deadline on a quiet cluster. Here the async
client runs on a private event loop in a thread: the caller polls with a timeout, and
closing cancels the request at once. A private loop also works inside Jupyter, whose own
loop is already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()


class BackgroundStream(Generic[T]):
    """The items of an async iterator opened by ``open`` on a private event loop."""

    def __init__(self, open: Callable[[], AsyncIterator[T]]) -> None:
        self._open = open
        self._items: queue.Queue[object] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait()
        self.ended = False

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._pump())
        self._loop.call_soon(self._started.set)
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _pump(self) -> None:
        try:
            async for item in self._open():
                self._items.put(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the caller, raised there
            self._items.put(exc)
        self._items.put(_END)

    def get(self, timeout: float) -> T | None:
        """The next item, or ``None`` when none came within ``timeout`` or the stream ended.

        After the end it still waits ``timeout``, so a polling loop does not spin.
        """
        if self.ended:
            time.sleep(max(timeout, 0))
            return None
        try:
            item = self._items.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if item is _END:
            self.ended = True
            return None
        if isinstance(item, Exception):
            self.ended = True
            raise item
        return item  # type: ignore[return-value]

    def until(self, deadline: float | None) -> Iterator[T]:
        """Every item until the stream ends or the monotonic ``deadline`` passes."""
        while not self.ended:
            remaining = 3600.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return
            item = self.get(min(remaining, 1.0))
            if item is not None:
                yield item

    def close(self) -> None:
        if self._task is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
