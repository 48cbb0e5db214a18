"""The GPU node group as Karpenter runs it: its NodePools, the nodes they launch, and when.

Karpenter launches a node for a pod the scheduler cannot place (a NodeClaim: launched,
registered, initialized) and removes a node once it has been empty for the pool's
``consolidateAfter``. On a cluster without Karpenter (a managed node group and the Cluster
Autoscaler) the tables are empty and a node's life is read from the Node alone.

kubectl equivalents: ``kubectl get nodepools,nodeclaims -o wide``, ``kubectl get nodes
-L karpenter.sh/nodepool``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from kubernetes import client
from tqdm.auto import tqdm

from tutorial_lib import names
from tutorial_lib.domain import prices
from tutorial_lib.errors import ClusterError, NotFound
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.objects import PodState, events_of

NODEPOOL_LABEL = "karpenter.sh/nodepool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
#: What the Cluster Autoscaler waits by default before removing an unneeded node.
CLUSTER_AUTOSCALER_DELAY = 10 * 60.0
#: Beyond the configured delay: Karpenter's disruption loop, draining, the node's deletion.
REMOVAL_MARGIN = 120.0
#: Karpenter's NodeClaim conditions, in the order a node passes them.
CLAIM_PHASES = ("Launched", "Registered", "Initialized")


def _custom(cluster: Connection, plural: str) -> list[dict[str, Any]]:
    """Karpenter's objects; none where it is not installed or the user may not list them."""
    try:
        listed = cluster.call(
            cluster.custom.list_cluster_custom_object,
            names.KARPENTER_GROUP,
            names.KARPENTER_VERSION,
            plural,
        )
    except NotFound:  # Karpenter is not installed
        return []
    except ClusterError as exc:
        if exc.status != 403:  # an account without the right: as if there were no Karpenter
            raise
        return []
    return listed.get("items") or []


def nodepools(cluster: Connection) -> list[dict[str, Any]]:
    """The NodePools as the API returns them; none without Karpenter."""
    return _custom(cluster, "nodepools")


def nodeclaims(cluster: Connection) -> list[dict[str, Any]]:
    """The NodeClaims (one per node Karpenter launched or is launching)."""
    return _custom(cluster, "nodeclaims")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def condition(claim: dict[str, Any], kind: str) -> datetime | None:
    """When the claim passed ``kind`` (one of ``CLAIM_PHASES``); None while it has not."""
    for entry in claim.get("status", {}).get("conditions", []):
        if entry["type"] == kind and entry["status"] == "True":
            return _time(entry.get("lastTransitionTime"))
    return None


def seconds(duration: str) -> float:
    """A Kubernetes duration as Karpenter writes them (``10m``, ``1h30m``, ``30s``)."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return float(sum(int(n) * units[u] for n, u in parts))


def pool_instance_types(pool: dict[str, Any]) -> list[str]:
    """The instance types a NodePool may launch; empty when it does not restrict them."""
    requirements = pool["spec"].get("template", {}).get("spec", {}).get("requirements", [])
    return [
        value
        for r in requirements
        if r["key"] == INSTANCE_TYPE_LABEL and r["operator"] == "In"
        for value in r.get("values", [])
    ]


def node_group(cluster: Connection) -> pd.DataFrame:
    """Per NodePool: what it launches, its label and taint, its limit, when it scales down."""
    claims = nodeclaims(cluster)
    rows = []
    for pool in nodepools(cluster):
        name = pool["metadata"]["name"]
        spec = pool["spec"]
        template = spec.get("template", {})
        taints = template.get("spec", {}).get("taints", [])
        disruption = spec.get("disruption", {})
        nodes = [
            c.get("status", {}).get("nodeName") or c["metadata"]["name"]
            for c in claims
            if c["metadata"].get("labels", {}).get(NODEPOOL_LABEL) == name
        ]
        rows.append(
            {
                "NodePool": name,
                "instance types": ", ".join(pool_instance_types(pool)) or "any",
                "labels": ", ".join(
                    f"{k}={v}" for k, v in template.get("metadata", {}).get("labels", {}).items()
                ),
                "taints": ", ".join(
                    f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in taints
                ),
                "GPU limit": spec.get("limits", {}).get(names.GPU_RESOURCE, "none"),
                "scale down": f"{disruption.get('consolidationPolicy', '?')} after "
                f"{disruption.get('consolidateAfter', '?')}",
                "nodes now": ", ".join(sorted(nodes)) or "none",
            }
        )
    columns = ["NodePool", "instance types", "labels", "taints", "GPU limit", "scale down"]
    return pd.DataFrame(rows, columns=[*columns, "nodes now"])


def _claim_of(cluster: Connection, node: str) -> dict[str, Any] | None:
    return next(
        (c for c in nodeclaims(cluster) if c.get("status", {}).get("nodeName") == node), None
    )


@dataclass(frozen=True)
class NodeLife:
    """One GPU node from launch to removal (``removed`` None: still there)."""

    node: str
    instance_type: str
    launched: datetime
    removed: datetime | None = None
    #: The NodePool that launched it; None for a node Karpenter does not own.
    pool: str | None = None
    #: Something removes it once it is empty: Karpenter, or on a cluster of one's own the
    #: node group's autoscaler; not a static node of the local cluster (a workshop room's).
    autoscaled: bool = True

    @property
    def hours(self) -> float:
        return ((self.removed or datetime.now(UTC)) - self.launched).total_seconds() / 3600


def node_life(cluster: Connection, node: str) -> NodeLife:
    """The node's life so far: launched when its NodeClaim was created (billing starts)."""
    try:
        found = cluster.call(cluster.core.read_node, node)
    except NotFound:
        raise ClusterError(f"Node {node} does not exist (any more).", "kubectl get nodes") from None
    labels = found.metadata.labels or {}
    claim = _claim_of(cluster, node)
    launched = _time(claim["metadata"]["creationTimestamp"]) if claim else None
    pool = labels.get(NODEPOOL_LABEL)
    return NodeLife(
        node,
        labels.get(INSTANCE_TYPE_LABEL, "?"),
        launched or found.metadata.creation_timestamp,
        pool=pool,
        autoscaled=pool is not None or not cluster.local,
    )


def _removal_delay(cluster: Connection, life: NodeLife) -> float:
    """How long the node's autoscaler waits before it removes an empty node."""
    if life.pool is None:
        return CLUSTER_AUTOSCALER_DELAY
    pool = next((p for p in nodepools(cluster) if p["metadata"]["name"] == life.pool), None)
    after = (pool or {}).get("spec", {}).get("disruption", {}).get("consolidateAfter", "0s")
    if after == "Never":
        raise ClusterError(
            f"NodePool {life.pool} never removes an empty node (consolidateAfter: Never).",
            f"kubectl patch nodepool {life.pool} --type merge -p "
            '\'{"spec":{"disruption":{"consolidateAfter":"10m"}}}\'',
        )
    return seconds(after)


def wait_node_gone(
    cluster: Connection, node: str | NodeLife, *, timeout: float | None = None
) -> NodeLife:
    """Wait until the empty node has been removed by the autoscaler; its life, launch to end.

    ``node``: its name, or its life as ``node_life`` read it earlier: then a node already
    gone returns at once (``removed``: when it was seen gone). ``timeout``: by default the
    NodePool's ``consolidateAfter`` (the Cluster Autoscaler's 10 minutes without Karpenter)
    plus ``REMOVAL_MARGIN``.
    kubectl equivalent: ``kubectl wait --for=delete node/<node> --timeout=...``.
    """
    life = node if isinstance(node, NodeLife) else node_life(cluster, node)
    if not life.autoscaled:
        raise ClusterError(
            f"Node {life.node} is a static node of the local cluster: nothing removes it.",
            "A workshop room's node stays for the whole workshop; the instructor's "
            "`python -m tutorial_lib.workshop delete` removes it.",
        )
    timeout = timeout if timeout is not None else _removal_delay(cluster, life) + REMOVAL_MARGIN
    deadline = time.monotonic() + timeout
    bar = tqdm(
        desc=f"Waiting for node {life.node} to be removed",
        bar_format="{desc} {elapsed}",
        leave=False,
    )
    try:
        while time.monotonic() < deadline:
            try:
                cluster.call(cluster.core.read_node, life.node)
            except NotFound:
                return replace(life, removed=datetime.now(UTC))
            bar.refresh()
            time.sleep(1.0)
    finally:
        bar.close()
    raise ClusterError(
        f"Node {life.node} was still there after {timeout:.0f} s.",
        f"kubectl describe node {life.node} (a pod still on it keeps it: kubectl get pods -A "
        f"--field-selector spec.nodeName={life.node}); Karpenter's reasons: kubectl get events "
        "-A --field-selector source=karpenter",
    )


def _event_time(event: client.CoreV1Event) -> datetime | None:
    """When it first happened (events.k8s.io events, the scheduler's, have microseconds)."""
    return event.event_time or event.first_timestamp or event.metadata.creation_timestamp


def _last_seen(event: client.CoreV1Event) -> datetime:
    """When it last happened: a repeated event is one object, counted and re-stamped."""
    series = event.series.last_observed_time if event.series else None
    return series or event.last_timestamp or _event_time(event) or datetime.min.replace(tzinfo=UTC)


def _source(event: client.CoreV1Event) -> str | None:
    return event.reporting_component or (event.source.component if event.source else None)


def _first(events: list[client.CoreV1Event], reason: str, source: str) -> datetime | None:
    times = [_event_time(e) for e in events if e.reason == reason and _source(e) == source]
    return min((t for t in times if t), default=None)


@dataclass(frozen=True)
class Verdict:
    """Karpenter's latest word on a pod the scheduler cannot place."""

    launches: bool  # nominated for a node it is launching (or has just launched)
    message: str  # its own words, without the long requirements list


#: Karpenter's reasons for launching nothing for a pending pod: no instance type of the pool
#: fits it, or the pool is at its limit (Karpenter checks the limit first, so a pod that fits
#: nothing still reads "exceed limits" while the pool's two GPU nodes exist).
NO_NODE_REASONS = ("no instance type has enough resources", "exceed limits")


def _shortened(message: str) -> str:
    return re.sub(r", requirements=.*?(?=, resources=|$)", "", message)


def verdict(cluster: Connection, pod: client.V1Pod | PodState) -> Verdict | None:
    """Karpenter's latest event for the pod: a node is coming, or why none can.

    None when Karpenter has not spoken (yet, or at all: it batches pending pods for 1 to
    10 seconds, and a cluster without it has no such events).
    """
    state = pod if isinstance(pod, PodState) else PodState.of(pod)
    said = [
        e
        for e in events_of(cluster, state.name, state.namespace)
        if _source(e) == "karpenter" and e.reason in ("Nominated", "FailedScheduling")
    ]
    if not said:
        return None
    latest = max(said, key=_last_seen)
    return Verdict(latest.reason == "Nominated", _shortened(latest.message or ""))


def timeline(
    cluster: Connection,
    pod: PodState,
    answered: datetime | None = None,
    *,
    since: datetime | None = None,
) -> pd.DataFrame:
    """From the scale-up to the first answer: each phase with the API's timestamp.

    The phases of a scale from zero: the scheduler finds no node, Karpenter creates a
    NodeClaim, the node is launched, registers and is initialized, the pod is scheduled
    there, vLLM becomes Ready; ``answered`` is when the first completion came back.
    ``since`` is when replicas were asked for (by default the pod's creation): a NodeClaim
    from before it was not launched for this scale-up. Counting from the request, not from
    the pod, keeps the launch in the table even when the pod that runs is not the first one
    created for the request. The API's timestamps have whole seconds.
    """
    live = cluster.call(cluster.core.read_namespaced_pod, pod.name, pod.namespace)
    events = events_of(cluster, pod.name, pod.namespace)
    created = live.metadata.creation_timestamp
    since = since.replace(microsecond=0) if since else None  # whole seconds, as the API's
    start = since or created
    claim = _claim_of(cluster, live.spec.node_name) if live.spec.node_name else None
    if claim and _time(claim["metadata"]["creationTimestamp"]) < start - timedelta(seconds=1):
        claim = None  # the node was there before: nothing was launched for this pod
    ready = next(
        (c for c in live.status.conditions or [] if c.type == "Ready" and c.status == "True"),
        None,
    )
    phases: list[tuple[str, datetime | None]] = [
        ("replicas asked for", since),
        ("pod created", created),
        ("scheduler: no node fits", _first(events, "FailedScheduling", "default-scheduler")),
        ("Karpenter: pod nominated for a new node", _first(events, "Nominated", "karpenter")),
        (
            "Karpenter: NodeClaim created",
            _time(claim["metadata"]["creationTimestamp"]) if claim else None,
        ),
    ]
    phases += [
        (f"node {phase.lower()}", condition(claim, phase) if claim else None)
        for phase in CLAIM_PHASES
    ]
    phases += [
        ("pod scheduled on it", _first(events, "Scheduled", "default-scheduler")),
        ("vLLM Ready", ready.last_transition_time if ready else None),
        ("first answer", answered),
    ]
    rows = [
        {"phase": name, "at": at, "seconds": round((at - start).total_seconds(), 1)}
        for name, at in phases
        if at is not None
    ]
    return pd.DataFrame(rows, columns=["phase", "at", "seconds"])


def bill(lives: list[NodeLife]) -> pd.DataFrame:
    """What each node cost from launch to removal (or until now) at ``prices.ON_DEMAND``."""
    rows = []
    for life in lives:
        per_hour = prices.ON_DEMAND.get(life.instance_type)
        rows.append(
            {
                "node": life.node,
                "instance type": life.instance_type,
                "launched": life.launched,
                "removed": life.removed if life.removed else "still running",
                "minutes": round(life.hours * 60, 1),
                "USD per hour": per_hour,
                "USD": round(life.hours * per_hour, 4) if per_hour is not None else None,
            }
        )
    columns = ["node", "instance type", "launched", "removed", "minutes", "USD per hour", "USD"]
    return pd.DataFrame(rows, columns=columns)
