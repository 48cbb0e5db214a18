"""BackgroundStream: deadlines on silent streams, clean cancellation, errors, running loops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from tutorial_lib.streams import BackgroundStream


async def numbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i
        await asyncio.sleep(0)


async def silent(closed: threading.Event) -> AsyncIterator[int]:
    try:
        await asyncio.sleep(3600)
        yield 0
    finally:
        closed.set()


async def failing() -> AsyncIterator[int]:
    yield 1
    raise ValueError("connection reset")


def test_all_items_then_end():
    with BackgroundStream(lambda: numbers(5)) as stream:
        assert list(stream.until(None)) == [0, 1, 2, 3, 4]
        assert stream.ended


def test_a_silent_stream_stops_at_the_deadline_and_close_cancels_it():
    closed = threading.Event()
    started = time.monotonic()
    with BackgroundStream(lambda: silent(closed)) as stream:
        assert list(stream.until(time.monotonic() + 0.5)) == []
    assert time.monotonic() - started < 5
    assert closed.wait(5), "the async generator was not finalised"


def test_errors_reach_the_caller():
    with BackgroundStream(failing) as stream:
        assert stream.get(5) == 1
        with pytest.raises(ValueError, match="connection reset"):
            stream.get(5)


def test_usable_from_inside_a_running_event_loop():
    async def cell():
        with BackgroundStream(lambda: numbers(3)) as stream:
            return list(stream.until(time.monotonic() + 5))

    assert asyncio.run(cell()) == [0, 1, 2]
