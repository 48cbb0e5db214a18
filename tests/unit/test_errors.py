"""The API's and the transport's errors, as a reader sees them: the tutorial's, with a hint."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from tests.helpers import write_kubeconfig
from tutorial_lib.errors import ClusterError, Expired, NotFound, TutorialError, Unreachable
from tutorial_lib.kube.connection import from_kubeconfig


def status(code: int, reason: str, message: str) -> dict:
    """A Status object as the API server sends it with a refusal."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def refused(code: int, reason: str, body: str):
    """A client method that the server refused, as the official client raises it."""

    def read_namespaced_pod(*args, **kwargs):
        raise ApiException(status=code, reason=reason, body=body)

    return read_namespaced_pod


NOT_FOUND = status(404, "NotFound", 'pods "vllm-0" not found')
GONE = status(410, "Expired", "too old resource version: 1 (4711)")
FORBIDDEN = status(
    403,
    "Forbidden",
    'pods is forbidden: User "reader" cannot list resource "pods" in the namespace "ml-models"',
)


def test_404_is_not_found_with_the_servers_message(unreachable):
    with pytest.raises(NotFound) as caught:
        unreachable.call(refused(404, "Not Found", json.dumps(NOT_FOUND)), "vllm-0", "ml-models")
    error = caught.value
    assert error.status == 404
    assert 'pods "vllm-0" not found' in error.message
    assert "tl.apply" in error.hint
    assert isinstance(error.__cause__, ApiException), "the original is kept as the cause"


def test_410_is_expired(unreachable):
    with pytest.raises(Expired) as caught:
        unreachable.call(refused(410, "Gone", json.dumps(GONE)))
    assert caught.value.status == 410
    assert "too old resource version" in caught.value.message


def test_403_is_a_cluster_error_that_says_who_may_not_do_what(unreachable):
    with pytest.raises(ClusterError) as caught:
        unreachable.call(refused(403, "Forbidden", json.dumps(FORBIDDEN)))
    error = caught.value
    assert not isinstance(error, NotFound | Expired | Unreachable)
    assert error.status == 403
    assert 'User "reader" cannot list resource "pods"' in error.message
    assert "kubectl auth can-i" in error.hint


def test_a_body_that_is_not_a_status_object_is_shown_as_sent(unreachable):
    """A proxy in front of the API server answers in HTML or plain text."""
    with pytest.raises(ClusterError) as caught:
        unreachable.call(refused(502, "Bad Gateway", "upstream connect error"))
    assert caught.value.status == 502
    assert "upstream connect error" in caught.value.message


@pytest.mark.parametrize(
    "failure",
    [
        urllib3.exceptions.MaxRetryError(
            None, "/api/v1/nodes", reason=ConnectionRefusedError(111, "Connection refused")
        ),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=["MaxRetryError", "ConnectionRefusedError"],
)
def test_transport_errors_are_unreachable_with_the_reachability_hint(unreachable, failure):
    def list_node():
        raise failure

    with pytest.raises(Unreachable) as caught:
        unreachable.call(list_node)
    error = caught.value
    assert error.status is None, "no server answered"
    assert "context real" in error.message and "Connection refused" in error.message
    assert error.hint == "Is the cluster reachable? kubectl --context real get nodes"
    assert error.__cause__ is failure


def test_the_local_clusters_hint_names_its_status_command(tmp_path):
    local = from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig.yaml"), local=True)

    def list_node():
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(Unreachable, match="context real") as caught:
        local.call(list_node)
    assert "python -m tutorial_lib.local status" in caught.value.hint


def test_a_real_request_to_nowhere_is_unreachable(unreachable):
    with pytest.raises(Unreachable, match="Connection refused"):
        unreachable.call(unreachable.core.list_node)


def test_what_the_client_returns_passes_through_unchanged(unreachable):
    assert unreachable.call(lambda a, b=0: (a, b), 1, b=2) == (1, 2)


def test_other_errors_are_not_translated(unreachable):
    """A bug in the caller's code stays a bug, not a cluster problem."""

    def broken():
        raise KeyError("items")

    with pytest.raises(KeyError):
        unreachable.call(broken)


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (NOT_FOUND, NotFound, 'pods "vllm-0" not found'),
        (GONE, Expired, "too old resource version"),
        (FORBIDDEN, ClusterError, 'cannot list resource "pods"'),
    ],
    ids=["404", "410", "403"],
)
def test_a_servers_refusal_through_the_official_client(refusing_api, body, error, message):
    """The same translation for what the client raises from a real HTTP answer."""
    cluster = refusing_api(body["code"], body)
    with pytest.raises(error) as caught:
        cluster.call(cluster.core.read_namespaced_pod, "vllm-0", "ml-models")
    assert type(caught.value) is error
    assert caught.value.status == body["code"]
    assert message in caught.value.message
    assert "read namespaced pod" in caught.value.message, "says which request was refused"


def test_every_error_prints_its_hint():
    error = NotFound("no such pod", "apply first", status=404)
    assert isinstance(error, ClusterError) and isinstance(error, TutorialError)
    assert str(error) == "no such pod\nHint: apply first"
    assert str(TutorialError("bare")) == "bare"
