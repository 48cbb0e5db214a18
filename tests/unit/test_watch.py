"""Background: a stream read in a thread, polled with deadlines, cancelled by close; field_of.

No timing assertions: each test checks what happened (items, the end, the stop call, the
thread's end); pytest-timeout turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from kubernetes.client import V1ListMeta, V1ObjectMeta, V1Pod, V1PodList

from tutorial_lib.kube.watch import Background, field_of


class Silent:
    """A stream that sends nothing until its ``stop`` is called, as a quiet watch does."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.finished = threading.Event()
        self.stops = 0

    def stop(self) -> None:
        self.stops += 1
        self.stopped.set()

    def __iter__(self) -> Iterator[int]:
        try:
            self.stopped.wait(300)
            yield from ()
        finally:
            self.finished.set()


def failing() -> Iterator[int]:
    yield 1
    raise ConnectionResetError("connection reset by peer")


@pytest.mark.timeout(30)
def test_all_items_then_end():
    with Background(iter(range(5)), stop=lambda: None) as stream:
        assert list(stream.until(None)) == [0, 1, 2, 3, 4]
        assert stream.ended
        assert stream.get(0) is None, "after the end there is nothing more"


@pytest.mark.timeout(30)
def test_items_come_in_order_from_a_slow_producer():
    def slow() -> Iterator[str]:
        for word in ("Loading", "weights", "done"):
            time.sleep(0.05)
            yield word

    with Background(slow(), stop=lambda: None) as stream:
        assert list(stream.until(time.monotonic() + 25)) == ["Loading", "weights", "done"]


@pytest.mark.timeout(60)
def test_a_silent_stream_stops_at_the_deadline_and_close_cancels_it():
    silent = Silent()
    stream = Background(silent, silent.stop)
    assert list(stream.until(time.monotonic() + 0.3)) == []  # returned without an item
    assert stream.get(0.05) is None
    assert not stream.ended, "the deadline passed; the stream itself has not ended"
    assert not silent.finished.is_set() and silent.stops == 0
    stream.close()
    assert silent.stops >= 1, "close() called the stop function"
    assert silent.finished.is_set(), "close() returned only after the thread ended"


@pytest.mark.timeout(60)
def test_close_as_a_context_manager_cancels_too():
    silent = Silent()
    with Background(silent, silent.stop) as stream:
        assert stream.get(0.05) is None
    assert silent.stops >= 1 and silent.finished.is_set()


@pytest.mark.timeout(30)
def test_an_error_in_the_stream_is_raised_in_the_caller():
    with Background(failing(), stop=lambda: None) as stream:
        assert stream.get(20) == 1
        with pytest.raises(ConnectionResetError, match="connection reset by peer"):
            stream.get(20)
        assert stream.ended


@pytest.mark.timeout(30)
def test_until_raises_the_streams_error_after_its_items():
    seen = []
    stream = Background(failing(), stop=lambda: None)
    with pytest.raises(ConnectionResetError), stream:
        for item in stream.until(time.monotonic() + 25):
            seen.append(item)
    assert seen == [1]


@pytest.mark.timeout(30)
def test_usable_from_inside_a_running_event_loop():
    """Jupyter runs cells inside an event loop: a blocking poll must still work there."""

    async def cell() -> list[int]:
        assert asyncio.get_running_loop().is_running()
        with Background(iter(range(3)), stop=lambda: None) as stream:
            return list(stream.until(time.monotonic() + 25))

    assert asyncio.run(cell()) == [0, 1, 2]


@pytest.mark.timeout(60)
def test_a_deadline_inside_a_running_event_loop_returns_and_close_cancels():
    silent = Silent()

    async def cell() -> list[int]:
        with Background(silent, silent.stop) as stream:
            return list(stream.until(time.monotonic() + 0.3))

    assert asyncio.run(cell()) == []
    assert silent.stops >= 1 and silent.finished.is_set()


# --- field_of: one path through typed models and the dicts of custom objects --------------


def test_field_of_a_typed_object_uses_snake_case_attributes():
    pod = V1Pod(metadata=V1ObjectMeta(name="vllm-0", uid="u-1", resource_version="42"))
    assert field_of(pod, "metadata", "uid") == "u-1"
    assert field_of(pod, "metadata", "resource_version") == "42"
    listed = V1PodList(items=[pod], metadata=V1ListMeta(resource_version="7"))
    assert field_of(listed, "metadata", "resource_version") == "7"
    assert field_of(listed, "items") == [pod]


def test_field_of_a_dict_uses_the_apis_camel_case_keys():
    monitor = {"metadata": {"name": "vllm", "resourceVersion": "42", "uid": "u-2"}}
    assert field_of(monitor, "metadata", "resource_version") == "42"
    assert field_of(monitor, "metadata", "uid") == "u-2"
    # The serialized form of a typed object gives the same answers.
    pod = V1Pod(metadata=V1ObjectMeta(uid="u-1", resource_version="42"))
    assert field_of(pod.to_dict(serialize=True), "metadata", "resource_version") == "42"


@pytest.mark.parametrize(
    "obj",
    [None, V1Pod(), V1Pod(metadata=V1ObjectMeta()), {}, {"metadata": None}, {"metadata": {}}],
    ids=["None", "no metadata", "empty metadata", "{}", "metadata None", "metadata {}"],
)
def test_field_of_a_missing_field_is_none(obj):
    assert field_of(obj, "metadata", "resource_version") is None
