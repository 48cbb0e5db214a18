"""Wait for a Deployment's pods with a deadline and a progress bar, built on list→watch.

On failure the error says why, from the scheduler's view, events, container states and the
last log lines (``tutorial_lib.kube.diagnose``); containers that cannot recover by themselves
(crash loops, image pull errors) end the wait early instead of running into the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from tqdm.auto import tqdm

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, NotFound, QuotaExceeded
from tutorial_lib.kube import diagnose, nodegroup
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.logs import log_stream
from tutorial_lib.kube.objects import (
    PodState,
    apply,
    deployment_selector,
    endpoints,
    ready,
    selector,
)
from tutorial_lib.kube.watch import Background, Event, ListWatch, in_background

_TICK = 1.0
#: How long a ResourceQuota's refusal must last to be final (its usage lags a deletion).
_REFUSAL_PATIENCE = 20.0
_RECHECK = 5.0  # re-evaluate without pod events: the Deployment itself may have changed

Pods = dict[str, client.V1Pod]


class _CurrentTemplate:
    """Which of the Deployment's pods run its current template, for a wait's checks.

    The template is found as the Deployment controller does (the ReplicaSet whose template
    equals the Deployment's but for the hash label), not as the newest revision: with
    ``Recreate`` the new ReplicaSet appears only after the old pods are gone, and until then
    the newest one is the old template's. Found once per generation of the Deployment: the
    checks that run every few seconds read the Deployment, not all its ReplicaSets.
    """

    def __init__(self, cluster: Connection, name: str, namespace: str) -> None:
        self.cluster, self.name, self.namespace = cluster, name, namespace
        self._found: tuple[tuple[str, int], str] | None = None  # (uid, generation), hash
        #: Why the ReplicaSet may not create a pod (a ResourceQuota), as of the last read.
        self.refusal: str | None = None
        self._refused_since: float | None = None

    def hash(self) -> str | None:
        cluster = self.cluster
        deployment = cluster.call(
            cluster.apps.read_namespaced_deployment, self.name, self.namespace
        )
        self.refusal = _replica_failure(deployment)
        key = (deployment.metadata.uid, deployment.metadata.generation or 0)
        if self._found is not None and self._found[0] == key:
            return self._found[1]
        wanted = _template(cluster, deployment.spec.template)
        replica_sets = cluster.call(
            cluster.apps.list_namespaced_replica_set,
            self.namespace,
            label_selector=selector(deployment.spec.selector.match_labels or {}),
        )
        for rs in replica_sets.items:
            owners = rs.metadata.owner_references or []
            if any(o.uid == key[0] for o in owners) and _template(cluster, rs.spec.template) == (
                wanted
            ):
                found = (rs.metadata.labels or {}).get("pod-template-hash")
                if found:
                    self._found = (key, found)
                return found
        return None

    def pods(self, current: Pods) -> list[client.V1Pod]:
        """The live pods of the current template (not terminating, not old).

        Raises ``QuotaExceeded`` when there is none because a ResourceQuota keeps refusing
        it: no wait would end. A refusal is normal for a moment when one pod replaces
        another, until the quota's usage has caught up with the old pod's deletion.
        """
        template = self.hash()
        found = [
            pod
            for pod in current.values()
            if (pod.metadata.labels or {}).get("pod-template-hash") == template
            and pod.metadata.deletion_timestamp is None
        ]
        if found or not self.refusal:
            self._refused_since = None
            return found
        self._refused_since = self._refused_since or time.monotonic()
        if time.monotonic() - self._refused_since >= _REFUSAL_PATIENCE:
            raise QuotaExceeded(
                f"{self.namespace}/{self.name} got no new pod: {self.refusal}",
                "A ResourceQuota limits the namespace: kubectl describe resourcequota -n "
                f"{self.namespace}. A workshop room's allows one vLLM pod, with one GPU.",
            )
        return found


def _replica_failure(deployment: client.V1Deployment) -> str | None:
    """The Deployment's ``ReplicaFailure`` message: its ReplicaSet was refused a pod.

    Only once the controller has seen the Deployment's latest change: until then the
    condition may be the previous template's.
    """
    status = deployment.status
    if status is None or status.observed_generation != deployment.metadata.generation:
        return None
    for condition in status.conditions or []:
        if condition.type == "ReplicaFailure" and condition.status == "True":
            return condition.message
    return None


def _template(cluster: Connection, template: client.V1PodTemplateSpec) -> dict[str, Any]:
    plain = cluster.api.sanitize_for_serialization(template)
    labels = dict(plain.get("metadata", {}).get("labels", {}))
    labels.pop("pod-template-hash", None)
    return {**plain, "metadata": {**plain.get("metadata", {}), "labels": labels}}


def _wait(
    cluster: Connection,
    namespace: str,
    labels: dict[str, str],
    timeout: float,
    done: Callable[[Pods], client.V1Pod | bool | None],
    what: str,
    tick: Callable[[], None] = lambda: None,
) -> tuple[client.V1Pod | bool | None, Pods]:
    """Watch the pods matching ``labels`` until ``done(pods)`` is truthy or time runs out.

    ``done`` runs on every change and every few seconds; ``tick`` every second.
    """
    deadline = time.monotonic() + timeout
    events = ListWatch(
        cluster,
        cluster.core.list_namespaced_pod,
        namespace,
        label_selector=selector(labels),
        deadline=deadline,
    )
    current: Pods = {}
    bar = tqdm(desc=what, bar_format="{desc} {elapsed}", leave=False)
    try:
        with in_background(events) as stream:
            checked = 0.0
            while time.monotonic() < deadline:
                synced = events.synced.is_set()  # before draining: then the list is all in
                changed = _apply(stream.get(_TICK), current)
                while _apply(stream.get(0), current):
                    changed = True
                tick()
                quiet = time.monotonic() - checked < _RECHECK
                if not synced or (not changed and quiet):
                    bar.refresh()
                    continue
                checked = time.monotonic()
                result = done(current)
                if result:
                    return result, current
                phases = ", ".join(sorted(_phase(p) for p in current.values())) or "no pod"
                bar.set_description(f"{what} ({phases})")
    finally:
        bar.close()
    if events.last_error is not None:
        raise events.last_error
    return None, current


def _apply(event: Event | None, current: Pods) -> bool:
    """Bring ``current`` up to date with one event; False when there was none."""
    if event is None:
        return False
    if event.type == "DELETED":
        current.pop(event.object.metadata.name, None)
    else:
        current[event.object.metadata.name] = event.object
    return True


def _phase(pod: client.V1Pod) -> str:
    if pod.metadata.deletion_timestamp is not None:
        return "Terminating"
    phase = pod.status.phase if pod.status else None
    if phase == "Pending" and (initializing := diagnose.initializing(pod)):
        return initializing
    if phase == "Running" and not ready(pod):
        return "Running, not ready"
    return phase or "Unknown"


def wait_ready(
    cluster: Connection,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
    *,
    timeout: float = 600,
    on_line: Callable[[str], None] | None = None,
    unschedulable_after: float | None = None,
) -> PodState:
    """Wait until the Deployment's current pod is Ready; stream its log to ``on_line``.

    A pod the scheduler cannot place ends the wait after ``unschedulable_after`` seconds
    unless Karpenter is launching a node for it; by default 30 s on the local cluster (its
    Karpenter says at once whether a node can come) and never on a real one, where a
    Cluster Autoscaler may still bring a GPU node without saying so.

    kubectl equivalent: ``kubectl rollout status deploy/vllm -n ml-models`` while
    ``kubectl logs -f deploy/vllm -n ml-models`` runs in another terminal.
    """
    namespace = namespace or cluster.namespace
    _require_replicas(cluster, name, namespace)
    template = _CurrentTemplate(cluster, name, namespace)
    followed: dict[str, Background[str]] = {}
    hopeless: list[client.V1Pod] = []
    if unschedulable_after is None and cluster.local:
        unschedulable_after = 30.0
    autoscaler = _Autoscaler(cluster)

    def done(current: Pods) -> client.V1Pod | None:
        for pod in template.pods(current):
            running = pod.status is not None and pod.status.phase == "Running"
            if on_line and running and pod.metadata.name not in followed:
                followed[pod.metadata.name] = log_stream(
                    cluster, pod.metadata.name, namespace, follow=True
                )
            if ready(pod):
                return pod
            if diagnose.stuck(pod) or _unschedulable_for(pod, unschedulable_after, autoscaler):
                hopeless.append(pod)
                return pod
        return None

    def tick() -> None:
        for stream in followed.values():
            while on_line is not None and (line := stream.get(0)) is not None:
                on_line(line)

    labels = deployment_selector(cluster, name, namespace)
    try:
        result, current = _wait(
            cluster, namespace, labels, timeout, done, f"Waiting for {namespace}/{name}", tick
        )
        tick()
    finally:
        for stream in followed.values():
            stream.close()
    if isinstance(result, client.V1Pod) and not hopeless:
        return PodState.of(result)
    why = diagnose.explain(cluster, hopeless[0]) if hopeless else _state_of(cluster, current)
    verdict = "cannot become Ready" if hopeless else f"was not Ready within {timeout:.0f} s"
    raise ClusterError(
        f"{namespace}/{name} {verdict}:\n{why}",
        f"kubectl describe pod -n {namespace} -l {selector(labels)}",
    )


def _require_replicas(cluster: Connection, name: str, namespace: str) -> None:
    """A Deployment scaled to zero has no pod to wait for: say so now, not at the timeout."""
    deployment = cluster.call(cluster.apps.read_namespaced_deployment, name, namespace)
    if deployment.spec.replicas == 0:
        raise ClusterError(
            f"{namespace}/{name} is scaled to 0 replicas: no pod will become Ready.",
            f"tl.scale(cluster, 1) first (kubectl scale deploy/{name} -n {namespace} "
            "--replicas=1).",
        )


def _unschedulable_since(pod: client.V1Pod) -> float | None:
    """How long the scheduler has been reporting the pod Unschedulable, in seconds."""
    for condition in (pod.status.conditions if pod.status else None) or []:
        if condition.type == "PodScheduled" and condition.reason == "Unschedulable":
            since = condition.last_transition_time or pod.metadata.creation_timestamp
            return (datetime.now(UTC) - since).total_seconds()
    return None


class _Autoscaler:
    """Whether a node may still come for an unschedulable pod, in Karpenter's words.

    The pod's events are read only while it is unschedulable, and at most every few
    seconds per pod, however many checks ask.
    """

    #: How long Karpenter may stay silent about an unschedulable pod: its batching window
    #: is 10 s at most, so silence beyond this means it is not running.
    SILENCE = 30.0
    _FRESH = 2.0

    def __init__(self, cluster: Connection) -> None:
        self.cluster = cluster
        self.present = bool(nodegroup.nodepools(cluster))
        self._said: dict[str, tuple[float, nodegroup.Verdict | None]] = {}

    def verdict(self, pod: client.V1Pod) -> nodegroup.Verdict | None:
        if not self.present:
            return None
        read_at, said = self._said.get(pod.metadata.uid, (0.0, None))
        if time.monotonic() - read_at > self._FRESH:
            said = nodegroup.verdict(self.cluster, pod)
            self._said[pod.metadata.uid] = (time.monotonic(), said)
        return said

    def gave_up(self, pod: client.V1Pod) -> bool:
        """The pod stays Pending: no Karpenter, or Karpenter says no node fits it."""
        said = self.verdict(pod)
        return not self.present or (said is not None and not said.launches)


def _unschedulable_for(pod: client.V1Pod, limit: float | None, autoscaler: _Autoscaler) -> bool:
    """Unschedulable for ``limit`` seconds, and no node is coming (or Karpenter is silent)."""
    since = _unschedulable_since(pod)
    if limit is None or since is None or since < limit:
        return False
    if not autoscaler.present:
        return True
    said = autoscaler.verdict(pod)
    return since >= limit + autoscaler.SILENCE if said is None else not said.launches


def wait_pending(
    cluster: Connection,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
    *,
    timeout: float = 120,
) -> PodState:
    """Wait until the scheduler reports the Deployment's current pod Unschedulable.

    With Karpenter, also until Karpenter has said that no node it could launch fits the pod
    (it batches pending pods for up to 10 s). For lessons that expect a pod to stay Pending;
    raises when it is scheduled, or gets a node from Karpenter, instead. The deadline
    includes a ``Recreate``'s wait for the old pod (up to its grace period, 60 s) and a busy
    Karpenter: it ends as soon as the verdict is in.
    """
    autoscaler = _Autoscaler(cluster)

    def instead(pod: client.V1Pod) -> str | None:
        if pod.spec.node_name:
            return f"was scheduled on {pod.spec.node_name}"
        said = autoscaler.verdict(pod) if _unschedulable_since(pod) is not None else None
        return f"gets a node from Karpenter ({said.message})" if said and said.launches else None

    return _wait_for(
        cluster,
        name,
        namespace,
        timeout,
        reached=lambda pod: _unschedulable_since(pod) is not None and autoscaler.gave_up(pod),
        instead=instead,
        what="to be refused by the scheduler",
        hint="Check the node's allocatable memory: tl.nodes(cluster)",
    )


def wait_scheduled(
    cluster: Connection,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
    *,
    timeout: float = 300,
) -> PodState:
    """Wait until the scheduler has placed the Deployment's current pod on a node.

    A scheduling problem is repaired once the pod is placed; vLLM then starts (half a minute
    here, minutes on an L4), which ``wait_ready`` waits for. Raises as soon as the pod stays
    Pending with no node coming (Karpenter's verdict, or no Karpenter at all).
    kubectl equivalent: ``kubectl get pods -n ml-models -o wide -w`` until NODE is set.
    """
    autoscaler = _Autoscaler(cluster)

    def instead(pod: client.V1Pod) -> str | None:
        if _unschedulable_since(pod) is None or not autoscaler.gave_up(pod):
            return None
        return f"stays Pending:\n{diagnose.explain(cluster, pod)}\n"

    return _wait_for(
        cluster,
        name,
        namespace,
        timeout,
        reached=lambda pod: bool(pod.spec.node_name),
        instead=instead,
        what="to be scheduled",
        hint="tl.scheduling(cluster, pod) shows each node's verdict",
    )


def wait_crashing(
    cluster: Connection,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
    *,
    timeout: float = 180,
) -> PodState:
    """Wait until the Deployment's current pod crashed and waits to restart (CrashLoopBackOff).

    For lessons that break the container on purpose; raises when it becomes Ready instead.
    kubectl equivalent: ``kubectl get pods -n ml-models -w`` until RESTARTS grows.
    """
    return _wait_for(
        cluster,
        name,
        namespace,
        timeout,
        reached=lambda pod: diagnose.stuck(pod) is not None,
        instead=lambda pod: ready(pod) and "became Ready",
        what="to crash",
        hint="The container started fine: was the change applied? tl.get(cluster, 'deploy/vllm')",
    )


def _wait_for(
    cluster: Connection,
    name: str,
    namespace: str | None,
    timeout: float,
    *,
    reached: Callable[[client.V1Pod], bool],
    instead: Callable[[client.V1Pod], str | bool | None],
    what: str,
    hint: str,
) -> PodState:
    """The current pod once ``reached``; an error as soon as ``instead`` says it went otherwise."""
    namespace = namespace or cluster.namespace
    template = _CurrentTemplate(cluster, name, namespace)

    def done(current: Pods) -> client.V1Pod | None:
        for pod in template.pods(current):
            if reached(pod):
                return pod
            if went_well := instead(pod):
                raise ClusterError(
                    f"{pod.metadata.name} {went_well}; the lesson expected it {what}.", hint
                )
        return None

    labels = deployment_selector(cluster, name, namespace)
    result, current = _wait(cluster, namespace, labels, timeout, done, f"Waiting for {name} {what}")
    if not isinstance(result, client.V1Pod):
        raise ClusterError(
            f"{namespace}/{name}: waited {timeout:.0f} s for its pod {what}, in vain:\n"
            f"{_state_of(cluster, current)}",
            "Is the cluster healthy? python -m tutorial_lib.local status",
        )
    return PodState.of(result)


def _state_of(cluster: Connection, current: Pods) -> str:
    """Where a wait that ran out of time left the Deployment: its newest pod, explained.

    A pod still terminating is named as such: with ``Recreate`` the next pod waits for it.
    """
    if not current:
        return "the Deployment has no pod"
    live = [p for p in current.values() if p.metadata.deletion_timestamp is None]
    if not live:
        going = ", ".join(sorted(p.metadata.name for p in current.values()))
        return f"no pod of the current template yet; still terminating: {going}"
    return diagnose.explain(cluster, max(live, key=lambda p: p.metadata.creation_timestamp))


def wait_gone(
    cluster: Connection,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
    *,
    timeout: float = 120,
) -> None:
    """Wait until the Deployment has no pod left at all (after scaling to zero or deleting).

    kubectl equivalent: ``kubectl wait --for=delete pod -l app=vllm -n ml-models``.
    """
    namespace = namespace or cluster.namespace
    try:
        labels = deployment_selector(cluster, name, namespace)
    except NotFound:  # deleted: its pods go with it; the tutorial labels them app=<name>
        labels = {"app": name}
    result, current = _wait(
        cluster,
        namespace,
        labels,
        timeout,
        lambda pods: not pods,
        f"Waiting for the pods of {namespace}/{name} to go",
    )
    if not result:
        left = ", ".join(current) or "?"
        raise ClusterError(
            f"Pods of {namespace}/{name} still exist after {timeout:.0f} s: {left}",
            f"kubectl get pods -n {namespace} -l {selector(labels)}",
        )


def wait_endpoints(
    cluster: Connection,
    *,
    present: bool = True,
    service: str = names.SERVICE,
    namespace: str | None = None,
    timeout: float = 60,
) -> list[str]:
    """Wait until the Service has ready endpoints (or, ``present=False``, none); return them.

    The EndpointSlice controller follows pods and selectors within seconds, not at once.
    kubectl equivalent: ``kubectl get endpointslices -n ml-models -w``.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = endpoints(cluster, service, namespace)
        if bool(found) == present:
            return found
        if time.monotonic() > deadline:
            state = f"still {found}" if found else "still none"
            raise ClusterError(
                f"Service {service}: endpoints {state} after {timeout:.0f} s.",
                f"tl.explain(cluster, 'service/{service}') says which pods it selects.",
            )
        time.sleep(0.5)


def ensure_serving(cluster: Connection, *, timeout: float = 900) -> PodState:
    """Apply the tutorial's overlay (a no-op when nothing changed) and wait until Ready.

    What notebooks after 03 call first, so that each runs on its own, and the catch-up for
    a reader (or workshop attendee) who fell behind: after it, any notebook from 04 on runs.
    """
    apply(cluster, cluster.overlay)
    return wait_ready(cluster, timeout=timeout)
