"""ListWatch against a scripted API server on loopback: list, watch, and a 410 in between.

The server answers the official client's real requests (``list_namespaced_pod`` and its
``watch=true`` form) from a script, so what is checked is what a caller sees: each change
reported once, none missed, deletions included, and the watch resumed from the right
resourceVersion.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.helpers import write_kubeconfig
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.kube.watch import ListWatch, field_of, in_background

NS = "ml-models"


def pod(name: str, version: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "resourceVersion": version,
        },
    }


def pod_list(version: str, *pods: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PodList",
        "metadata": {"resourceVersion": version},
        "items": list(pods),
    }


def event(kind: str, obj: dict) -> dict:
    return {"type": kind, "object": obj}


GONE = {
    "type": "ERROR",
    "object": {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "too old resource version: 10 (15)",
        "reason": "Expired",
        "code": 410,
    },
}


class Script:
    """What the server answers: lists and watches in order; a quiet watch when none is left."""

    def __init__(self, lists: list[dict], watches: list[list[dict]]) -> None:
        self.lists = list(lists)
        self.watches = list(watches)
        self.requests: list[dict[str, list[str]]] = []
        self.closing = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server dispatches GET requests to
        script: Script = self.server.script  # type: ignore[attr-defined]
        query = parse_qs(urlparse(self.path).query)
        script.requests.append(query)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        if query.get("watch") != ["true"]:
            self.wfile.write(json.dumps(script.lists.pop(0)).encode())
            return
        if script.watches:
            for line in script.watches.pop(0):
                self.wfile.write(json.dumps(line).encode() + b"\n")
                self.wfile.flush()
            return
        script.closing.wait(0.5)  # a quiet watch: the server ends it after its timeout

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted(tmp_path) -> Iterator[tuple[Script, Connection]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    script = Script([], [])
    server.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield script, from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig.yaml", url))
    script.closing.set()
    server.shutdown()
    server.server_close()


def changes(events, count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` events as (type, name, resourceVersion)."""
    seen = []
    for item in events:
        seen.append(
            (
                item.type,
                field_of(item.object, "metadata", "name"),
                field_of(item.object, "metadata", "resource_version"),
            )
        )
        if len(seen) == count:
            break
    return seen


@pytest.mark.timeout(60)
def test_list_then_watch_from_the_lists_version(scripted):
    script, cluster = scripted
    script.lists = [pod_list("10", pod("a", "1"), pod("b", "2"))]
    script.watches = [[event("MODIFIED", pod("a", "11")), event("DELETED", pod("b", "12"))]]
    events = ListWatch(
        cluster, cluster.core.list_namespaced_pod, NS, deadline=time.monotonic() + 30
    )
    assert changes(events, 4) == [
        ("ADDED", "a", "1"),
        ("ADDED", "b", "2"),
        ("MODIFIED", "a", "11"),
        ("DELETED", "b", "12"),
    ]
    watches = [r for r in script.requests if r.get("watch") == ["true"]]
    assert watches[0]["resourceVersion"] == ["10"], "the watch starts where the list ended"
    assert events.synced.is_set() and events.lists == 1
    assert {field_of(o, "metadata", "name") for o in events.known.values()} == {"a"}


@pytest.mark.timeout(60)
def test_after_410_it_lists_again_and_reports_only_what_changed(scripted):
    script, cluster = scripted
    script.lists = [
        pod_list("10", pod("a", "1"), pod("b", "2")),
        # Meanwhile: a changed, b was deleted, c was created; nothing was watched of it.
        pod_list("15", pod("a", "13"), pod("c", "14")),
    ]
    script.watches = [[GONE], [event("MODIFIED", pod("c", "16"))]]
    events = ListWatch(
        cluster, cluster.core.list_namespaced_pod, NS, deadline=time.monotonic() + 30
    )
    assert changes(events, 6) == [
        ("ADDED", "a", "1"),
        ("ADDED", "b", "2"),
        ("DELETED", "b", "2"),
        ("MODIFIED", "a", "13"),
        ("ADDED", "c", "14"),
        ("MODIFIED", "c", "16"),
    ]
    assert events.lists == 2
    watches = [r["resourceVersion"] for r in script.requests if r.get("watch") == ["true"]]
    assert watches[:2] == [["10"], ["15"]]


@pytest.mark.timeout(60)
def test_a_quiet_watch_ends_at_the_deadline(scripted):
    script, cluster = scripted
    script.lists = [pod_list("10")]
    events = ListWatch(
        cluster, cluster.core.list_namespaced_pod, NS, deadline=time.monotonic() + 1.5
    )
    assert list(events) == []
    assert events.synced.is_set(), "an empty list is a complete state too"


@pytest.mark.timeout(60)
def test_in_the_background_stop_ends_a_quiet_watch(scripted):
    script, cluster = scripted
    script.lists = [pod_list("10", pod("a", "1"))]
    events = ListWatch(cluster, cluster.core.list_namespaced_pod, NS)  # no deadline
    stream = in_background(events)
    first = stream.get(20)
    assert first is not None and first.type == "ADDED"
    assert stream.get(0.3) is None, "nothing more comes"
    stream.close()
    assert list(stream.until(time.monotonic() + 5)) == []
    assert stream.ended, "the stream ended because of close(), not a deadline"


@pytest.mark.timeout(60)
def test_an_unreachable_server_is_retried_until_the_deadline(unreachable):
    events = ListWatch(
        unreachable, unreachable.core.list_namespaced_pod, NS, deadline=time.monotonic() + 1.5
    )
    assert list(events) == []
    assert events.lists == 0
    assert "No answer from the API server" in str(events.last_error)
