"""Why a pod is not Ready, in plain words: scheduling fit per node, events, last log lines.

The scheduler's own message ("0/2 nodes are available: 1 Insufficient memory, ...") does
not say which node, by how much, or who holds what is missing; ``scheduling`` does, from
the same facts the scheduler uses: node selector, taints and tolerations, allocatable
minus what the other pods on the node request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from kubernetes import client

from tutorial_lib.errors import ClusterError
from tutorial_lib.kube import nodegroup
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.logs import log_stream
from tutorial_lib.kube.objects import PodState, events_of, ready, selector
from tutorial_lib.kube.resources import (
    HARD_EFFECTS,
    allocatable,
    human,
    summed,
    taint_text,
    tolerates,
)

#: Container states that will not resolve by waiting longer: the kubelet has already retried
#: (the back-off states), cannot retry, or cannot run the container's command at all
#: (RunContainerError). ErrImagePull and CreateContainerConfigError are left out: a
#: throttled registry or a ConfigMap created later clears them.
HOPELESS = {"CrashLoopBackOff", "ImagePullBackOff", "InvalidImageName", "RunContainerError"}
LOG_LINES = 15


@dataclass
class _NodeUse:
    """What the pods on one node request, and which pods request each resource."""

    used: dict[str, Decimal] = field(default_factory=dict)
    holders: dict[str, list[client.V1Pod]] = field(default_factory=dict)


def _replica_set(pod: client.V1Pod) -> str | None:
    owners = pod.metadata.owner_references or []
    return next((o.name for o in owners if o.kind == "ReplicaSet"), None)


def _same_deployment_older_template(pod: client.V1Pod, other: client.V1Pod) -> bool:
    """Both from one Deployment (ReplicaSet ``<deployment>-<hash>``), other template."""
    mine, theirs = _replica_set(pod), _replica_set(other)
    return (
        mine is not None
        and theirs is not None
        and mine != theirs
        and mine.rsplit("-", 1)[0] == theirs.rsplit("-", 1)[0]
    )


def _holders(pod: client.V1Pod, holders: list[client.V1Pod]) -> str:
    if not holders:
        return ""
    named = ", ".join(f"{h.metadata.namespace}/{h.metadata.name}" for h in holders)
    text = f" (held by {named})"
    if any(_same_deployment_older_template(pod, h) for h in holders):
        text += (
            "; that is an older pod of the same Deployment: with strategy RollingUpdate the "
            "new pod must start before the old one stops, which one GPU cannot allow. "
            "The tutorial's strategy Recreate stops the old pod first"
        )
    return text


def _node_verdict(pod: client.V1Pod, node: client.V1Node, use: _NodeUse) -> list[str]:
    reasons = []
    labels = node.metadata.labels or {}
    for key, value in (pod.spec.node_selector or {}).items():
        if labels.get(key) != value:
            reasons.append(f"nodeSelector {key}={value} does not match")
    for taint in node.spec.taints or []:
        if taint.effect in HARD_EFFECTS and not tolerates(pod.spec.tolerations, taint):
            reasons.append(f"taint {taint_text(taint)} not tolerated")
    for resource, wanted in summed(pod.spec.containers).items():
        total = allocatable(node, resource)
        free = total - use.used.get(resource, Decimal(0))
        if wanted > free:
            reasons.append(
                f"requests {human(resource, wanted)} {resource}, "
                f"{human(resource, max(free, Decimal(0)))} free of "
                f"{human(resource, total)} allocatable"
                + _holders(pod, use.holders.get(resource, []))
            )
    return reasons


def _all_pods(cluster: Connection, pod: client.V1Pod) -> tuple[list[client.V1Pod], bool]:
    """Every pod, and True; or, for a user who may list only their namespace, those and False."""
    try:
        return cluster.call(cluster.core.list_pod_for_all_namespaces).items, True
    except ClusterError as exc:
        if exc.status != 403:
            raise
    namespace = pod.metadata.namespace
    return cluster.call(cluster.core.list_namespaced_pod, namespace).items, False


def _usage(cluster: Connection, pod: client.V1Pod) -> tuple[dict[str, _NodeUse], bool]:
    """What the pods on each node request; False when only the pod's namespace was visible."""
    usage: dict[str, _NodeUse] = {}
    others, complete = _all_pods(cluster, pod)
    for other in others:
        phase = other.status.phase if other.status else None
        if not other.spec.node_name or phase in ("Succeeded", "Failed"):
            continue
        if other.metadata.uid == pod.metadata.uid:
            continue
        node = usage.setdefault(other.spec.node_name, _NodeUse())
        for resource, amount in summed(other.spec.containers).items():
            node.used[resource] = node.used.get(resource, Decimal(0)) + amount
            node.holders.setdefault(resource, []).append(other)
    return usage, complete


#: A pod as the reader has it: its name, the ``PodState`` a wait returned, or the object.
PodLike = str | PodState | client.V1Pod


def _read(cluster: Connection, pod: PodLike, namespace: str | None) -> client.V1Pod:
    if isinstance(pod, client.V1Pod):
        return pod
    if isinstance(pod, PodState):
        pod, namespace = pod.name, namespace or pod.namespace
    return cluster.call(cluster.core.read_namespaced_pod, pod, namespace or cluster.namespace)


def scheduling(cluster: Connection, pod: PodLike, namespace: str | None = None) -> pd.DataFrame:
    """For each node: could this pod run there, and if not, why (and who holds what).

    With Karpenter, a row per NodePool too: whether it launches a node for the pod, or its
    reason why not ("no instance type has enough resources").
    """
    pod = _read(cluster, pod, namespace)
    usage, complete = _usage(cluster, pod)
    rows = []
    for node in cluster.call(cluster.core.list_node).items:
        reasons = _node_verdict(pod, node, usage.get(node.metadata.name, _NodeUse()))
        fits: bool | None = not reasons
        if not complete:  # a workshop attendee: other namespaces' pods are not theirs to see
            fits = False if reasons else None  # room enough for this namespace: unknown
            reasons.append(f"(counting only the pods of {pod.metadata.namespace})")
        rows.append({"node": node.metadata.name, "fits": fits, "why not": "; ".join(reasons)})
    rows += _launchable(cluster, pod)
    return pd.DataFrame(rows, columns=["node", "fits", "why not"])


def _launchable(cluster: Connection, pod: client.V1Pod) -> list[dict[str, object]]:
    """A row per Karpenter NodePool: could it launch a node for the pod, in its own words."""
    pools = nodegroup.nodepools(cluster)
    if not pools or pod.spec.node_name:
        return []
    said = nodegroup.verdict(cluster, pod)
    fits = said.launches if said else None
    why = (
        ""
        if fits
        else (
            said.message
            if said
            else "Karpenter has not said anything yet (for more than a few seconds: is it running?)"
        )
    )
    names = ", ".join(pool["metadata"]["name"] for pool in pools)
    return [{"node": f"NodePool {names} (Karpenter)", "fits": fits, "why not": why}]


def warnings(cluster: Connection, pod: client.V1Pod) -> list[str]:
    """The pod's Warning events, oldest first, without repeats."""
    events = events_of(cluster, pod.metadata.name, pod.metadata.namespace)
    lines = [f"{e.reason}: {e.message}" for e in events if e.type == "Warning"]
    return list(dict.fromkeys(lines))


def last_log_lines(cluster: Connection, pod: client.V1Pod, lines: int = LOG_LINES) -> list[str]:
    """The end of the container's log: of the previous run while it waits to restart."""
    statuses = (pod.status.container_statuses if pod.status else None) or []
    waiting = any(s.restart_count for s in statuses) and not any(
        s.state and s.state.running for s in statuses
    )
    for previous in (True, False) if waiting else (False,):  # previous may not be there yet
        with log_stream(
            cluster, pod.metadata.name, pod.metadata.namespace, previous=previous, tail=lines
        ) as stream:
            try:
                found = list(stream.until(None))
            except ClusterError:  # e.g. 400: no previous run yet; no log is an answer here
                found = []
        if found:
            return found
    return []


def stuck(pod: client.V1Pod) -> str | None:
    """The waiting reason of a container that will not recover by itself, if any.

    An init container that failed counts too, as ``kubectl get pods`` shows it: ``Init:Error``
    (the kubelet runs it again, but what it lacked rarely appears by itself).
    """
    for status in _init_statuses(pod):
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason in HOPELESS:
            return f"Init:{waiting.reason}"
        if _failed(status):
            return "Init:Error"
    for status in (pod.status.container_statuses if pod.status else None) or []:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason in HOPELESS:
            return waiting.reason
    return None


def initializing(pod: client.V1Pod) -> str | None:
    """``Init:1/2`` or ``Init:Error``, as ``kubectl get pods`` says it; None once initialized."""
    statuses = _init_statuses(pod)
    done = sum(1 for s in statuses if s.state and s.state.terminated and not _failed(s))
    if not statuses or done == len(statuses):
        return None
    return stuck(pod) if any(_failed(s) for s in statuses) else f"Init:{done}/{len(statuses)}"


def _init_statuses(pod: client.V1Pod) -> list[client.V1ContainerStatus]:
    return (pod.status.init_container_statuses if pod.status else None) or []


def _failed(status: client.V1ContainerStatus) -> client.V1ContainerStateTerminated | None:
    terminated = status.state.terminated if status.state else None
    return terminated if terminated is not None and terminated.exit_code else None


def _init_parts(cluster: Connection, pod: client.V1Pod) -> list[str]:
    """What ``kubectl describe`` and ``kubectl logs -c`` say of an init container in the way."""
    parts = []
    for status in _init_statuses(pod):
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason not in ("PodInitializing", "ContainerCreating"):
            message = f": {waiting.message}" if waiting.message else ""
            parts.append(f"init container {status.name}: {waiting.reason}{message}")
        elif failed := _failed(status):
            parts.append(
                f"init container {status.name} exited with code {failed.exit_code} "
                f"({failed.reason}); vLLM waits for it (restarts: {status.restart_count})"
            )
            with log_stream(
                cluster, pod.metadata.name, pod.metadata.namespace, container=status.name
            ) as stream:
                log = list(stream.until(None))[-LOG_LINES:]
            parts.append(f"its log (kubectl logs -c {status.name}):")
            parts += [f"  | {line}" for line in log]
    return parts


def explain(cluster: Connection, pod: PodLike, namespace: str | None = None) -> str:
    """Why a pod is not Ready: scheduling, events, container state and its last log lines.

    Given ``"service/<name>"`` instead: why the Service has no endpoints.
    """
    if isinstance(pod, str) and pod.startswith(("service/", "svc/")):
        return _explain_service(cluster, pod.partition("/")[2], namespace or cluster.namespace)
    pod = _read(cluster, pod, namespace)
    parts = []
    if refused := _unscheduled(pod):
        table = scheduling(cluster, pod)
        parts.append(refused)
        parts += [f"  {row.node}: {row['why not']}" for _, row in table.iterrows() if not row.fits]
    parts += [w for w in warnings(cluster, pod) if not w.startswith("FailedScheduling")]
    parts += _init_parts(cluster, pod)
    statuses = (pod.status.container_statuses if pod.status else None) or []
    for status in statuses:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason not in ("ContainerCreating", "PodInitializing"):
            parts.append(
                f"container {status.name}: {waiting.reason} (restarts: {status.restart_count})"
                + (f": {waiting.message}" if waiting.message else "")
            )
        terminated = status.last_state.terminated if status.last_state else None
        if terminated is not None:
            parts.append(
                f"container {status.name} last exited with code {terminated.exit_code} "
                f"({terminated.reason})"
            )
    if statuses and not ready(pod):
        log = last_log_lines(cluster, pod)
        if log:
            parts.append("last log lines:\n" + "\n".join(f"  | {line}" for line in log))
    phase = pod.status.phase if pod.status else None
    return "\n".join(parts) or f"phase {phase}, no events yet"


def _explain_service(cluster: Connection, name: str, namespace: str) -> str:
    """Which pods the selector finds and which are Ready; else what the pods carry instead.

    kubectl equivalent: ``kubectl get pods -n ml-models --show-labels``.
    """
    service = cluster.call(cluster.core.read_namespaced_service, name, namespace)
    wanted = service.spec.selector or {}
    pods = cluster.call(cluster.core.list_namespaced_pod, namespace).items
    matching = [p for p in pods if wanted.items() <= (p.metadata.labels or {}).items()]
    shown = selector(wanted)
    if not matching:
        lines = [f"Service {name} selects {shown}, and no pod in {namespace} carries these labels."]
        lines += [f"  {p.metadata.name}: {selector(p.metadata.labels or {})}" for p in pods] or [
            f"  (no pod in {namespace})"
        ]
        lines.append("The selector must match the labels of the Deployment's pod template.")
        return "\n".join(lines)
    waiting = [p for p in matching if not ready(p)]
    if len(waiting) == len(matching):
        lines = [f"Service {name} selects {shown}: {len(matching)} pod(s), none Ready yet."]
        return "\n".join(lines + [f"  {p.metadata.name}: {_state(p)}, not Ready" for p in waiting])
    ready_ones = ", ".join(p.metadata.name for p in matching if ready(p))
    return f"Service {name} selects {shown}: ready endpoint(s) {ready_ones}."


def _unscheduled(pod: client.V1Pod) -> str | None:
    """The scheduler's verdict on a pod it could not place, else None."""
    conditions = (pod.status.conditions if pod.status else None) or []
    scheduled = next((c for c in conditions if c.type == "PodScheduled"), None)
    if scheduled is not None and scheduled.status == "False":
        return f"Pending, not scheduled: {scheduled.message}"
    return None


def _state(pod: client.V1Pod) -> str:
    """Where a pod is, from the object alone (``tl.explain`` on it says why, with logs)."""
    return _unscheduled(pod) or stuck(pod) or (pod.status.phase if pod.status else None) or "?"
