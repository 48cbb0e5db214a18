"""Karpenter as a daemon of the local cluster: killed mid-launch, it is started again and the
pod it was launching a node for still gets one.

Scale to zero and back is notebook 07's (run twice in one kernel: the node removed, a new
one launched for the Pending pod, the timeline in order, the bill); the blog's 14Gi pod that
no instance type fits is notebook 03's and ``test_library``'s (docs/decisions.md, *The
suite's budget*).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import tutorial_lib as tl
from tests.cluster.conftest import create, gpu_pod
from tests.helpers import eventually
from tutorial_lib import names
from tutorial_lib.kube import nodegroup
from tutorial_lib.local import autoscaler, daemons


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _launched_unregistered(connection: tl.Connection, before: set[str]) -> str | None:
    for claim in nodegroup.nodeclaims(connection):
        name = claim["metadata"]["name"]
        launched = nodegroup.condition(claim, "Launched")
        if name not in before and launched and not nodegroup.condition(claim, "Registered"):
            return name
    return None


def _delete_claim(connection: tl.Connection, name: str) -> None:
    connection.custom.delete_cluster_custom_object(
        names.KARPENTER_GROUP, names.KARPENTER_VERSION, "nodeclaims", name
    )


def _remove_spare_claims(connection: tl.Connection, keep: str) -> None:
    """Delete every GPU node but ``keep``'s: an earlier test's (the LoRA test's, say) is left for
    consolidation a minute later, and until then the pod lands on it, or, while a pod of that
    test is still terminating there, the NodePool's limit of two GPUs refuses the launch."""
    spare = [
        claim["metadata"]["name"]
        for claim in nodegroup.nodeclaims(connection)
        if claim.get("status", {}).get("nodeName") != keep
    ]
    for name in spare:
        _delete_claim(connection, name)
    eventually(
        lambda: not {c["metadata"]["name"] for c in nodegroup.nodeclaims(connection)} & set(spare),
        timeout=60,
        what=f"spare NodeClaims {spare} gone",
    )


def test_a_karpenter_killed_mid_launch_is_started_again_and_the_pod_still_gets_a_node(
    connection, namespace, gpu_node
):
    """The kwok provider creates a launched claim's node 5 s later, in the background: killed
    in between, Karpenter leaves a claim whose node never comes, and without the daemon's
    clean-up the pod waits for Karpenter's 15-minute registration timeout."""
    daemon = daemons.KARPENTER.pid()
    assert daemon is not None
    first = eventually(lambda: _children(daemon), what="Karpenter running under its daemon")[0]
    _remove_spare_claims(connection, keep=gpu_node)
    before = {claim["metadata"]["name"] for claim in nodegroup.nodeclaims(connection)}
    create(connection, gpu_pod("second-replica", "12Gi"), namespace)  # vLLM holds gpu_node's GPU
    orphan = eventually(
        lambda: _launched_unregistered(connection, before),
        timeout=60,
        what="Karpenter launching a second GPU node",
    )
    os.kill(first, signal.SIGKILL)
    assert orphan in autoscaler.orphans(connection), "its node came before the kill: too slow"

    second = eventually(
        lambda: [c for c in _children(daemon) if c != first], timeout=30, what="a new Karpenter"
    )[0]
    assert daemons.KARPENTER.pid() == daemon and second != first

    def running() -> str | None:
        pod = connection.core.read_namespaced_pod("second-replica", namespace)
        return pod.spec.node_name if pod.status.phase == "Running" else None

    node = eventually(
        running,
        timeout=120,
        what=lambda: f"the pod Running:\n{tl.explain(connection, 'second-replica', namespace)}",
    )
    claims = {c["metadata"]["name"]: c for c in nodegroup.nodeclaims(connection)}
    assert orphan not in claims  # deleted by the daemon, and its pod launched for again
    connection.core.delete_namespaced_pod("second-replica", namespace, grace_period_seconds=0)
    holder = next(n for n, c in claims.items() if c.get("status", {}).get("nodeName") == node)
    _delete_claim(connection, holder)  # not left for consolidation, a minute from now
    eventually(
        lambda: holder not in {c["metadata"]["name"] for c in nodegroup.nodeclaims(connection)},
        timeout=60,
        what=f"NodeClaim {holder} gone",
    )
