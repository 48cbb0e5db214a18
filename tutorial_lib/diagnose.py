"""Why a pod is not Ready, in plain words: scheduling fit per node, events, last log lines.

The scheduler's own message ("0/2 nodes are available: 1 Insufficient memory, ...") does
not say which node or by how much; ``scheduling`` does, from the same facts the scheduler
uses: node selector, taints and tolerations, allocatable minus what other pods request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from lightkube.resources.core_v1 import Event, Node, Pod
from lightkube.utils.quantity import parse_quantity

from tutorial_lib.kube import Cluster, ready

#: Container states that will not resolve by waiting longer: the kubelet has already retried
#: (the back-off states) or cannot retry. ErrImagePull and CreateContainerConfigError are
#: left out: a throttled registry or a ConfigMap created later clears them.
HOPELESS = {"CrashLoopBackOff", "ImagePullBackOff", "InvalidImageName"}
LOG_LINES = 15


def _requests(pod: Pod) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for container in pod.spec.containers:
        resources = container.resources
        for resource, value in ((resources.requests if resources else None) or {}).items():
            total[resource] = total.get(resource, Decimal(0)) + parse_quantity(value)
    return total


def _tolerated(pod: Pod, taint: Any) -> bool:
    """Kubernetes' rule: same key (an empty key with Exists matches all), effect, value."""
    for toleration in pod.spec.tolerations or []:
        operator = toleration.operator or "Equal"
        if toleration.key:
            if toleration.key != taint.key:
                continue
        elif operator != "Exists":
            continue
        if toleration.effect not in (None, "", taint.effect):
            continue
        if operator == "Exists" or (toleration.value or "") == (taint.value or ""):
            return True
    return False


def _human(resource: str, amount: Decimal) -> str:
    if resource == "memory" or resource.endswith("storage"):
        return f"{amount / 2**30:.2f} GiB"
    if resource == "cpu":
        return f"{amount:.2f} CPU"
    return f"{amount:g}"


def _node_verdict(pod: Pod, node: Node, used: dict[str, Decimal]) -> list[str]:
    reasons = []
    labels = node.metadata.labels or {}
    for key, value in (pod.spec.nodeSelector or {}).items():
        if labels.get(key) != value:
            reasons.append(f"nodeSelector {key}={value} does not match")
    for taint in node.spec.taints or []:
        if taint.effect in ("NoSchedule", "NoExecute") and not _tolerated(pod, taint):
            reasons.append(f"taint {taint.key}={taint.value or ''}:{taint.effect} not tolerated")
    allocatable = node.status.allocatable or {}
    for resource, wanted in _requests(pod).items():
        free = parse_quantity(allocatable.get(resource, "0")) - used.get(resource, Decimal(0))
        if wanted > free:
            reasons.append(
                f"requests {_human(resource, wanted)} {resource}, "
                f"{_human(resource, max(free, Decimal(0)))} free of "
                f"{_human(resource, parse_quantity(allocatable.get(resource, '0')))} allocatable"
            )
    return reasons


def scheduling(cluster: Cluster, pod: Pod) -> pd.DataFrame:
    """For each node: could this pod run there, and if not, why."""
    used: dict[str, dict[str, Decimal]] = {}
    for other in cluster.client.list(Pod, namespace="*"):
        if other.spec.nodeName and other.status.phase not in ("Succeeded", "Failed"):
            if other.metadata.uid == pod.metadata.uid:
                continue
            node_used = used.setdefault(other.spec.nodeName, {})
            for resource, amount in _requests(other).items():
                node_used[resource] = node_used.get(resource, Decimal(0)) + amount
    rows = []
    for node in cluster.client.list(Node):
        reasons = _node_verdict(pod, node, used.get(node.metadata.name, {}))
        rows.append(
            {"node": node.metadata.name, "fits": not reasons, "why not": "; ".join(reasons)}
        )
    return pd.DataFrame(rows, columns=["node", "fits", "why not"])


def warnings(cluster: Cluster, pod: Pod) -> list[str]:
    """The pod's Warning events, oldest first, without repeats."""
    events = cluster.client.list(
        Event, namespace=pod.metadata.namespace, fields={"involvedObject.name": pod.metadata.name}
    )
    lines = [f"{e.reason}: {e.message}" for e in events if e.type == "Warning"]
    return list(dict.fromkeys(lines))


def last_log_lines(cluster: Cluster, pod: Pod, lines: int = LOG_LINES) -> list[str]:
    """The end of the container's log: of the previous run while it waits to restart."""
    args = ["logs", "-n", pod.metadata.namespace, pod.metadata.name, f"--tail={lines}"]
    statuses = pod.status.containerStatuses or []
    waiting = any(s.restartCount for s in statuses) and not any(
        s.state and s.state.running for s in statuses
    )
    attempts = (["--previous"], []) if waiting else ([],)  # previous may not be published yet
    for previous in attempts:
        proc = cluster.run_kubectl(*args, *previous, timeout=30)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.splitlines()
    return []


def stuck(pod: Pod) -> str | None:
    """The waiting reason of a container that will not recover by itself, if any."""
    for status in pod.status.containerStatuses or []:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason in HOPELESS:
            return waiting.reason
    return None


def explain(cluster: Cluster, pod: Pod) -> str:
    """Why a pod is not Ready: scheduling, events, container state and its last log lines."""
    parts = []
    scheduled = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
    if scheduled is not None and scheduled.status == "False":
        table = scheduling(cluster, pod)
        parts.append(f"Pending, not scheduled: {scheduled.message}")
        parts += [f"  {row.node}: {row['why not']}" for _, row in table.iterrows() if not row.fits]
    parts += [w for w in warnings(cluster, pod) if not w.startswith("FailedScheduling")]
    for status in pod.status.containerStatuses or []:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason != "ContainerCreating":
            parts.append(
                f"container {status.name}: {waiting.reason} (restarts: {status.restartCount})"
            )
        terminated = status.lastState.terminated if status.lastState else None
        if terminated is not None:
            parts.append(
                f"container {status.name} last exited with code {terminated.exitCode} "
                f"({terminated.reason})"
            )
    if pod.status.containerStatuses and not ready(pod):
        log = last_log_lines(cluster, pod)
        if log:
            parts.append("last log lines:\n" + "\n".join(f"  | {line}" for line in log))
    return "\n".join(parts) or f"phase {pod.status.phase}, no events yet"
