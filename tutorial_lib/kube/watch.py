"""List, then watch from the list's resourceVersion: the one way the tutorial follows objects.

What every controller does (client-go's reflector), in a few lines:

* list, and report each object once;
* watch from the list's ``resourceVersion``, so nothing between the list and the watch is
  missed; each watch request is bounded by the server's ``timeout_seconds``, so a deadline
  holds on a quiet cluster, and resumes from the last version seen;
* on ``410 Gone`` (the server no longer keeps that version) list again and report only
  what changed meanwhile, deletions included: nothing missed, nothing doubled;
* while the API server is away (a restart), retry until it is back or the deadline passes.

Waits, the runtime bridge and the local monitoring use it; ``Background`` runs it (or a log
stream) in a thread, so a caller can poll with a timeout and cancel at once, inside
Jupyter's running event loop too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import urllib3
from kubernetes import watch
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from tutorial_lib.errors import ClusterError, Expired, Unreachable
from tutorial_lib.kube.connection import TRANSPORT_ERRORS, Connection

T = TypeVar("T")
log = logging.getLogger(__name__)

#: The longest single watch request; the server ends it and we resume from where it was.
WATCH_SECONDS = 60
#: Pause between attempts while the API server does not answer.
RETRY_SECONDS = 1.0
#: The longest pause of a ``Mirror`` whose watch the server keeps refusing.
RETRY_MAX_SECONDS = 30.0
#: Statuses that say "later", not "no": too many requests, and a server (re)starting.
_TEMPORARY = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Event:
    """``ADDED``, ``MODIFIED`` or ``DELETED``, and the object as the server sent it."""

    type: str
    object: Any


def field_of(obj: Any, *path: str) -> Any:
    """``obj.metadata.uid`` of a typed object, ``obj["metadata"]["uid"]`` of a custom one."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(_camel(name)) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class StreamingRequest:
    """One streaming HTTP response (a watch, a followed log) that another thread can cut.

    ``stop`` shuts the socket down, which wakes a thread blocked reading it at once. A
    ``stop`` that comes before the response exists is not lost: ``lines`` checks for it as
    soon as the response is there.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._lock = threading.Lock()
        self._stopped = False
        self._response: Any = None

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            response = self._response
        if response is not None:
            with contextlib.suppress(OSError, AttributeError):
                response.shutdown()

    def lines(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[str]:
        """The response's lines; ends quietly when ``stop`` cut it."""
        response = self.connection.call(method, *args, _preload_content=False, **kwargs)
        with self._lock:
            self._response = response
            stopped = self._stopped
        complete = False
        try:
            if stopped:
                return
            if not 200 <= response.status < 300:
                error = ApiException(http_resp=response)
                raise self.connection.api_error(error, method.__name__)
            yield from iter_resp_lines(response)
            complete = not self._stopped
        except urllib3.exceptions.ProtocolError:
            return  # the server ended the response early (its pod went, it shut down): an end
        except TRANSPORT_ERRORS as exc:
            if not self._stopped:
                raise self.connection.unreachable(exc) from exc
        finally:
            with self._lock:
                self._response = None
            if not complete:
                # The server is still sending this response: back in the pool, the connection
                # would hold the next request until the watch's timeout ends the stream.
                response.close()
            response.release_conn()


class ListWatch:
    """The events of ``list_call(*args, **kwargs)``'s objects; iterate it once.

    ``resource_version`` starts the watch from a version the caller already has instead of
    listing first. Iteration ends at the monotonic ``deadline`` or after ``stop()``.
    ``on_list`` runs after every list, when ``known`` holds the complete state.
    """

    def __init__(
        self,
        connection: Connection,
        list_call: Callable[..., Any],
        *args: Any,
        resource_version: str | None = None,
        deadline: float | None = None,
        on_list: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.connection = connection
        self.on_list = on_list
        self.list_call = list_call
        self.args, self.kwargs = args, kwargs
        self.resource_version = resource_version
        self.deadline = deadline
        self.known: dict[str, Any] = {}  # uid → the object as last reported
        self.lists = 0  # how often it listed: once, plus once per 410
        self.expired = 0  # how often the server answered 410 Gone
        #: Set once the first list's events are all out: from then on they are the state.
        self.synced = threading.Event()
        self.last_error: Exception | None = None
        self._stopped = threading.Event()
        self._request: StreamingRequest | None = None
        self._decoder = watch.Watch()  # the official client's event decoding
        self._type = self._decoder.get_return_type(list_call)

    def stop(self) -> None:
        """End the iteration; safe from another thread, cancels a waiting request at once."""
        self._stopped.set()
        request = self._request
        if request is not None:
            request.stop()

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _running(self) -> bool:
        remaining = self._remaining()
        return not self._stopped.is_set() and (remaining is None or remaining > 0)

    def __iter__(self) -> Iterator[Event]:
        while self._running():
            try:
                if self.resource_version is None:
                    yield from self._relist()
                yield from self._watch_once()
                self.last_error = None
            except Expired:
                self.expired += 1
                self.resource_version = None  # too old: list again
            except ClusterError as exc:
                if not _temporary(exc):
                    raise
                self.last_error = exc  # the API server restarts or is overloaded: try again
                self._stopped.wait(min(RETRY_SECONDS, max(self._remaining() or 1.0, 0)))

    def _relist(self) -> Iterator[Event]:
        listed = self.connection.call(self.list_call, *self.args, **self.kwargs)
        self.lists += 1
        items = field_of(listed, "items") or []
        present = {field_of(obj, "metadata", "uid"): obj for obj in items}
        for uid, obj in list(self.known.items()):
            if uid not in present:
                del self.known[uid]
                yield Event("DELETED", obj)
        for uid, obj in present.items():
            before = self.known.get(uid)
            self.known[uid] = obj
            if before is None:
                yield Event("ADDED", obj)
            elif _version(before) != _version(obj):
                yield Event("MODIFIED", obj)
        self.resource_version = field_of(listed, "metadata", "resource_version")
        self.synced.set()
        if self.on_list is not None:
            self.on_list()

    def _watch_once(self) -> Iterator[Event]:
        """One watch request from ``resource_version``, until the server or ``stop`` ends it."""
        remaining = self._remaining()
        seconds = WATCH_SECONDS if remaining is None else max(1, min(WATCH_SECONDS, int(remaining)))
        self._request = request = StreamingRequest(self.connection)
        if self._stopped.is_set():
            return
        lines = request.lines(
            self.list_call,
            *self.args,
            watch=True,
            resource_version=self.resource_version,
            timeout_seconds=seconds,
            allow_watch_bookmarks=True,
            **self.kwargs,
        )
        for line in lines:
            event = self._event(self._decoder.unmarshal_event(line, self._type))
            if event is not None and not self._stopped.is_set():
                yield event

    def _event(self, raw: dict[str, Any] | None) -> Event | None:
        if raw is None:
            return None
        kind, obj = raw["type"], raw["object"]
        if kind == "ERROR":  # a Status inside the stream: 410 Gone among them
            status = raw["raw_object"]
            error = ApiException(status=status.get("code"), reason=status.get("reason"))
            error.body = json.dumps(status)
            raise self.connection.api_error(error, "watch")
        version = field_of(raw["raw_object"], "metadata", "resource_version")
        if version:
            self.resource_version = version
        if kind == "BOOKMARK":
            return None
        uid = field_of(obj, "metadata", "uid")
        if kind == "DELETED":
            self.known.pop(uid, None)
        else:
            self.known[uid] = obj
        return Event(kind, obj)


def _temporary(error: ClusterError) -> bool:
    """Worth a retry: no answer, or the server said it is busy or starting."""
    return isinstance(error, Unreachable) or error.status in _TEMPORARY


def _version(obj: Any) -> str | None:
    return field_of(obj, "metadata", "resource_version")


_END = object()


class Background(Generic[T]):
    """The items of an iterable, produced in a thread: poll with a timeout, close to cancel.

    ``stop`` must make the iterable end soon when called from another thread (a watch's
    or a log stream's ``stop``); ``close`` calls it until the thread has ended.
    """

    def __init__(self, items: Iterable[T], stop: Callable[[], None]) -> None:
        self._items: queue.Queue[object] = queue.Queue()
        self._stop = stop
        self.ended = False
        self._thread = threading.Thread(target=self._pump, args=(items,), daemon=True)
        self._thread.start()

    def _pump(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                self._items.put(item)
        except Exception as exc:  # handed to the caller, raised there
            self._items.put(exc)
        self._items.put(_END)

    @property
    def running(self) -> bool:
        """Its thread is still reading (False once the stream ended or was cancelled)."""
        return self._thread.is_alive()

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
        if item is _END or isinstance(item, Exception):
            # The thread's last act was to hand this over: once it has returned, ``ended``
            # implies not ``running`` (a caller may check both at once).
            self._thread.join()
            self.ended = True
            if isinstance(item, Exception):
                raise item
            return None
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

    def close(self, timeout: float = 10.0) -> None:
        """Cancel the stream and wait for its thread; repeated, as a stop can race a start."""
        end = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < end:
            self._stop()
            self._thread.join(0.2)

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def in_background(events: ListWatch) -> Background[Event]:
    return Background(events, events.stop)


class Mirror:
    """A live copy of one kind's objects, kept by a ``ListWatch`` in a thread, for daemons.

    ``changed`` is set after every change, for a loop that recomputes from ``objects()``.
    It does not give up: when the API server refuses the watch (its CRD was deleted, say),
    ``error`` says why and it lists again after a growing pause.
    """

    def __init__(
        self,
        connection: Connection,
        list_call: Callable[..., Any],
        *args: Any,
        changed: threading.Event,
        **kwargs: Any,
    ) -> None:
        self._events = ListWatch(connection, list_call, *args, on_list=self._copy, **kwargs)
        self._changed = changed
        self._lock = threading.Lock()
        self._objects: dict[str, Any] = {}
        self._stopping = threading.Event()
        self.synced = threading.Event()
        self.error: ClusterError | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = RETRY_SECONDS
        while not self._stopping.is_set():
            try:
                for _ in self._events:
                    self._copy()
                return  # stopped
            except ClusterError as exc:
                self.error = exc
                log.warning("%s; listing again in %.0f s", exc.message, pause)
                self._events.resource_version = None
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, RETRY_MAX_SECONDS)

    def _copy(self) -> None:
        with self._lock:
            self._objects = dict(self._events.known)
        self.error = None
        self.synced.set()
        self._changed.set()

    def objects(self) -> list[Any]:
        with self._lock:
            return list(self._objects.values())

    def stop(self) -> None:
        self._stopping.set()
        self._events.stop()
