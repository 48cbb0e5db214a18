"""The blog's node group for real: Karpenter removes the empty GPU node and launches a new one.

No timing asserts: each wait has a deadline (the NodePool's ``consolidateAfter`` plus a
margin for the removal), and what is asserted is what happened, in the API's own records.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tutorial_lib as tl
from tests.cluster.conftest import assert_no_node_for_14gi
from tests.helpers import eventually
from tutorial_lib import names
from tutorial_lib.kube import preflight as pf
from tutorial_lib.local import daemons


def _pool_nodes(connection: tl.Connection) -> str:
    return tl.node_group(connection).set_index("NodePool").loc["gpu-vllm", "nodes now"]


def _registered_since(connection: tl.Connection, asked: datetime) -> bool:
    """A NodeClaim created since ``asked`` (the API's timestamps: whole seconds) registered."""
    for claim in tl.nodegroup.nodeclaims(connection):
        created = datetime.fromisoformat(claim["metadata"]["creationTimestamp"])
        conditions = claim.get("status", {}).get("conditions", [])
        registered = any(c["type"] == "Registered" and c["status"] == "True" for c in conditions)
        if registered and created >= asked - timedelta(seconds=1):
            return True
    return False


def _pods_on_pool_nodes(connection: tl.Connection) -> dict[str, list[str]]:
    """Each node of the GPU pool (by its NodeClaim) and the pods on it, as namespace/name."""
    claims = [
        claim
        for claim in tl.nodegroup.nodeclaims(connection)
        if claim["metadata"].get("labels", {}).get(tl.nodegroup.NODEPOOL_LABEL) == "gpu-vllm"
    ]
    held: dict[str, list[str]] = {}
    for claim in claims:
        node = claim.get("status", {}).get("nodeName")
        pods = (
            connection.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")
            if node
            else None
        )
        held[claim["metadata"]["name"]] = [
            f"{p.metadata.namespace}/{p.metadata.name}" for p in (pods.items if pods else [])
        ]
    return held


def _clear_what_earlier_tests_left(connection: tl.Connection) -> None:
    """The node group at zero: Karpenter removes empty nodes; ones an earlier test left pods
    on are deleted as ``kubectl delete nodeclaim`` would (the lesson is about empty ones).

    An empty node that stays past consolidateAfter and a margin fails the test: scale to zero
    would be broken for the reader too.
    """
    eventually(
        lambda: all(_pods_on_pool_nodes(connection).values()),
        timeout=180,
        what=lambda: f"Karpenter removing the empty GPU nodes: {_pods_on_pool_nodes(connection)}",
    )
    for claim, pods in _pods_on_pool_nodes(connection).items():
        print(f"NodeClaim {claim} holds what an earlier test left: {pods}; deleting it")
        connection.custom.delete_cluster_custom_object(
            names.KARPENTER_GROUP, names.KARPENTER_VERSION, "nodeclaims", claim
        )
    eventually(
        lambda: _pool_nodes(connection) == "none",
        timeout=180,
        what=lambda: f"the node group at zero: {_pods_on_pool_nodes(connection)}",
    )


def _gpu_nodes(connection: tl.Connection) -> list[str]:
    nodes = tl.nodes(connection)
    return list(nodes[nodes["GPUs"] > 0]["node"])


@pytest.mark.timeout(900)
def test_scale_to_zero_removes_the_node_and_scale_to_one_launches_one_that_answers(connection):
    before = tl.ensure_serving(connection, timeout=600)
    life = tl.nodegroup.node_life(connection, before.node)
    assert life.autoscaled and life.pool == "gpu-vllm"

    tl.scale(connection, 0)
    tl.wait_gone(connection)
    removed = tl.wait_node_gone(connection, life)  # 1 minute + margin
    assert removed.node == before.node and removed.removed > removed.launched
    assert before.node not in _gpu_nodes(connection)
    _clear_what_earlier_tests_left(connection)
    report = tl.preflight(connection)
    assert report[pf.GPU_NODE].status == pf.OK
    assert "Karpenter launches one when the vLLM pod is Pending" in report[pf.GPU_NODE].finding

    asked = datetime.now(UTC)
    tl.scale(connection, 1)
    # Once the node registered, the pod it was launched for is replaced (a reader's `kubectl
    # delete pod`; CI once saw a pod replaced there): the launch is still the scale-up's.
    eventually(lambda: _registered_since(connection, asked), timeout=120, what="a new node")
    for pod in connection.core.list_namespaced_pod(connection.namespace).items:
        connection.core.delete_namespaced_pod(
            pod.metadata.name, connection.namespace, grace_period_seconds=0
        )
    back = tl.wait_ready(connection, timeout=600)
    with tl.port_forward(connection) as tunnel:
        answer = tl.complete(tunnel.url, "Kubernetes is", max_tokens=4)
    assert answer.completion_tokens > 0
    assert back.node != before.node
    timeline = tl.nodegroup.timeline(connection, back, since=asked).set_index("phase")["seconds"]
    launched = ["Karpenter: NodeClaim created", "node registered", "pod scheduled on it"]
    assert set(launched) <= set(timeline.index), timeline
    assert list(timeline[[*launched, "vLLM Ready"]]) == sorted(timeline[[*launched, "vLLM Ready"]])

    bill = tl.nodegroup.bill([removed, tl.nodegroup.node_life(connection, back.node)])
    assert list(bill["removed"])[1] == "still running"
    assert (bill["USD per hour"] == 0.70).all() and (bill["USD"] > 0).all()


def test_the_blogs_14gi_stays_pending_and_karpenter_says_why(serving):
    """The lesson of notebook 03 with Karpenter: no instance type fits, no node comes."""
    tl.set_resources(serving, requests={"memory": "14Gi"}, limits={"memory": "16Gi"})
    try:
        pending = tl.wait_pending(serving)  # also until Karpenter has given its verdict
        said = tl.nodegroup.verdict(serving, pending)
        table = tl.scheduling(serving, pending).set_index("node")
    finally:
        tl.apply(serving, serving.overlay)
    assert said is not None and not said.launches
    assert said.message.startswith("Failed to schedule pod, ")
    assert_no_node_for_14gi(said.message)
    karpenter = table.loc["NodePool gpu-vllm (Karpenter)"]
    assert karpenter["fits"] is not None and not karpenter["fits"]  # decided: no
    assert karpenter["why not"] == said.message
    assert not table["fits"].any(), table
    assert tl.wait_ready(serving, timeout=600).ready


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_killed_karpenter_is_started_again_by_its_daemon(connection):
    daemon = daemons.KARPENTER.pid()
    assert daemon is not None
    first = eventually(lambda: _children(daemon), what="Karpenter running under its daemon")[0]
    os.kill(first, signal.SIGKILL)
    second = eventually(
        lambda: [c for c in _children(daemon) if c != first], timeout=30, what="a new Karpenter"
    )[0]
    assert daemons.KARPENTER.pid() == daemon and second != first
