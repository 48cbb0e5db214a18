"""The list→watch helper against the real API server: a real 410, deadlines, cancellation."""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import configmap, configmaps, restart_api_server, take
from tutorial_lib.kube.watch import in_background


@pytest.mark.timeout(300)  # an API-server restart, the namespace fixture and the watch
def test_a_watch_from_a_version_the_server_no_longer_has_lists_again_and_misses_nothing(
    connection, namespace
):
    # A restarted API server fills its watch cache from etcd's current revision: a watch from
    # any older version ("1" here) is answered 410 Gone, as after a real control-plane restart.
    # (On a cluster that never restarted, the cache reaches back to its first revisions.)
    restart_api_server()
    core = connection.core
    for name in ("a", "b"):
        core.create_namespaced_config_map(namespace, configmap(name))
    events = configmaps(connection, namespace, resource_version="1")
    with in_background(events) as stream:
        listed = take(stream, 2)
        assert events.synced.wait(30)
        core.create_namespaced_config_map(namespace, configmap("c"))
        core.patch_namespaced_config_map("a", namespace, {"data": {"value": "2"}})
        core.delete_namespaced_config_map("b", namespace)
        changes = take(stream, 3)
        extra = take(stream, 1, within=3)
    assert events.expired >= 1, "the server did not answer 410: the test proves nothing"
    assert events.lists == 1
    assert sorted(listed) == [("ADDED", "a"), ("ADDED", "b")]
    assert changes == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert extra == [], "an event was reported twice"


@pytest.mark.timeout(180)  # includes the namespace fixture, slow right after a restart
def test_a_quiet_watch_with_a_deadline_ends_without_events(connection, namespace):
    events = configmaps(connection, namespace, deadline=time.monotonic() + 3)
    with in_background(events) as stream:
        assert take(stream, 1, within=30) == []  # nothing happens, and the stream ends
        assert stream.ended and not stream.running


@pytest.mark.timeout(180)  # includes the namespace fixture, slow right after a restart
def test_closing_cancels_a_waiting_watch(connection, namespace):
    events = configmaps(connection, namespace)  # no deadline: only close() ends it
    stream = in_background(events)
    assert events.synced.wait(30)
    stream.close()
    assert not stream.running
    # The cut response must not go back to the connection pool: a request on its connection
    # would wait for the server to end the watch (60 s). A create is not retried on a timeout.
    connection.core.create_namespaced_config_map(namespace, configmap("after"), _request_timeout=10)
