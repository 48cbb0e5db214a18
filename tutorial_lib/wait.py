"""Wait for a Deployment's pods with a deadline and a progress bar, built on watches.

On failure the error says why, from the scheduler's view, events, container states and the
last log lines (``tutorial_lib.diagnose``); containers that cannot recover by themselves
(crash loops, image pull errors) end the wait early instead of running into the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import Pod
from lightkube.types import OnErrorAction, OnErrorResult
from tqdm.auto import tqdm

from tutorial_lib import diagnose, podlogs
from tutorial_lib.kube import Cluster, ClusterError, apply, ready
from tutorial_lib.streams import BackgroundStream

_TICK = 1.0
_RECHECK = 5.0  # re-evaluate without pod events: the Deployment itself may have changed


def _retry_a_few_times(error: Exception, count: int) -> OnErrorResult:
    """Watches survive a dropped connection or an expired resourceVersion (410)."""
    return OnErrorResult(OnErrorAction.RETRY if count <= 5 else OnErrorAction.RAISE, sleep=1)


def _pod_events(
    cluster: Cluster, namespace: str, selector: dict[str, str], since: str | None
) -> BackgroundStream[Any]:
    """Pod events after resourceVersion ``since`` (the list the caller started from)."""
    return cluster.stream(
        lambda client: client.watch(
            Pod,
            namespace=namespace,
            labels=selector,
            resource_version=since,
            on_error=_retry_a_few_times,
        )
    )


def _current_hash(cluster: Cluster, name: str, namespace: str) -> str | None:
    """The pod-template-hash of the ReplicaSet for the Deployment's current template.

    Found as the Deployment controller does (the template equal but for the hash label),
    not as the newest revision: with ``Recreate`` the new ReplicaSet appears only after the
    old pods are gone, and until then the newest one is the old template's.
    """
    deployment = cluster.client.get(Deployment, name, namespace=namespace)
    wanted = _template(deployment.spec.template.to_dict())
    for rs in cluster.client.list(
        ReplicaSet, namespace=namespace, labels=deployment.spec.selector.matchLabels
    ):
        if not any(o.uid == deployment.metadata.uid for o in rs.metadata.ownerReferences or []):
            continue
        if _template(rs.spec.template.to_dict()) == wanted:
            return rs.metadata.labels.get("pod-template-hash")
    return None


def _current_pods(
    cluster: Cluster, name: str, namespace: str, current: dict[str, Pod]
) -> list[Pod]:
    """The live pods of the Deployment's current template (not terminating, not old)."""
    template = _current_hash(cluster, name, namespace)
    return [
        pod
        for pod in current.values()
        if pod.metadata.labels.get("pod-template-hash") == template
        and pod.metadata.deletionTimestamp is None
    ]


def _template(template: dict[str, Any]) -> dict[str, Any]:
    labels = dict(template.get("metadata", {}).get("labels", {}))
    labels.pop("pod-template-hash", None)
    return {**template, "metadata": {**template.get("metadata", {}), "labels": labels}}


def _selector(cluster: Cluster, name: str, namespace: str) -> dict[str, str]:
    try:
        deployment = cluster.client.get(Deployment, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            raise DeploymentMissing(
                f"There is no Deployment {namespace}/{name}.",
                "Apply the manifests first: tl.apply(cluster, cluster.overlay)",
            ) from exc
        raise
    return dict(deployment.spec.selector.matchLabels)


class DeploymentMissing(ClusterError):
    """The Deployment to wait for does not exist (any more)."""


def _wait(
    cluster: Cluster,
    name: str,
    namespace: str,
    timeout: float,
    done: Callable[[dict[str, Pod]], Pod | bool | None],
    what: str,
    tick: Callable[[], None] = lambda: None,
    selector: dict[str, str] | None = None,
) -> tuple[Pod | bool | None, dict[str, Pod]]:
    """Watch the Deployment's pods until ``done(pods)`` is truthy or the deadline passes.

    ``done`` runs on every change and every few seconds; ``tick`` every second.
    """
    selector = selector or _selector(cluster, name, namespace)
    deadline = time.monotonic() + timeout
    listed = cluster.client.list(Pod, namespace=namespace, labels=selector)
    current = {p.metadata.name: p for p in listed}
    since = listed.resourceVersion  # type: ignore[attr-defined]
    bar = tqdm(desc=what, bar_format="{desc} {elapsed}", leave=False)
    try:
        with _pod_events(cluster, namespace, selector, since) as stream:
            checked = 0.0
            while time.monotonic() < deadline:
                event = stream.get(_TICK)
                tick()
                if event is not None:
                    kind, pod = event
                    if kind == "DELETED":
                        current.pop(pod.metadata.name, None)
                    else:
                        current[pod.metadata.name] = pod
                if event is None and time.monotonic() - checked < _RECHECK:
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
    return None, current


def _phase(pod: Pod) -> str:
    if pod.metadata.deletionTimestamp is not None:
        return "Terminating"
    if pod.status.phase == "Running" and not ready(pod):
        return "Running, not ready"
    return pod.status.phase or "Unknown"


def wait_ready(
    cluster: Cluster,
    name: str = "vllm",
    namespace: str = "ml-models",
    *,
    timeout: float = 600,
    on_line: Callable[[str], None] | None = None,
    unschedulable_after: float | None = None,
) -> Pod:
    """Wait until the Deployment's current pod is Ready; stream its log to ``on_line``.

    A pod the scheduler cannot place ends the wait after ``unschedulable_after`` seconds;
    by default 30 s on the local cluster (nothing will add a node) and never on a real
    one, where the Cluster Autoscaler may still bring a GPU node.

    kubectl equivalent: ``kubectl rollout status deploy/vllm -n ml-models`` while
    ``kubectl logs -f deploy/vllm -n ml-models`` runs in another terminal.
    """
    followed: dict[str, BackgroundStream[str]] = {}
    hopeless: list[Pod] = []
    if unschedulable_after is None and cluster.local:
        unschedulable_after = 30.0

    def done(current: dict[str, Pod]) -> Pod | None:
        for pod in _current_pods(cluster, name, namespace, current):
            if on_line and pod.status.phase == "Running" and pod.metadata.name not in followed:
                followed[pod.metadata.name] = _follow(cluster, pod)
            if ready(pod):
                return pod
            if diagnose.stuck(pod) or _unschedulable_for(pod, unschedulable_after):
                hopeless.append(pod)
                return pod
        return None

    def tick() -> None:
        for stream in followed.values():
            _drain(stream, on_line)

    try:
        result, current = _wait(
            cluster, name, namespace, timeout, done, f"Waiting for {namespace}/{name}", tick
        )
        tick()
    finally:
        for stream in followed.values():
            stream.close()
    if isinstance(result, Pod) and not hopeless:
        return result
    live = [p for p in current.values() if p.metadata.deletionTimestamp is None]
    newest = (
        hopeless[0]
        if hopeless
        else max(live, key=lambda p: p.metadata.creationTimestamp, default=None)
    )
    why = diagnose.explain(cluster, newest) if newest else "the Deployment has no pod"
    verdict = "cannot become Ready" if hopeless else f"was not Ready within {timeout:.0f} s"
    raise ClusterError(
        f"{namespace}/{name} {verdict}:\n{why}",
        f"kubectl describe pod -n {namespace} -l app={name}",
    )


def _unschedulable_since(pod: Pod) -> float | None:
    """How long the scheduler has been reporting the pod Unschedulable, in seconds."""
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled" and condition.reason == "Unschedulable":
            since = condition.lastTransitionTime or pod.metadata.creationTimestamp
            return (datetime.now(UTC) - since).total_seconds()
    return None


def _unschedulable_for(pod: Pod, limit: float | None) -> bool:
    since = _unschedulable_since(pod)
    return limit is not None and since is not None and since >= limit


def wait_pending(
    cluster: Cluster, name: str = "vllm", namespace: str = "ml-models", *, timeout: float = 60
) -> Pod:
    """Wait until the scheduler reports the Deployment's current pod Unschedulable.

    For lessons that expect a pod to stay Pending; raises when it is scheduled instead.
    """

    def done(current: dict[str, Pod]) -> Pod | None:
        for pod in _current_pods(cluster, name, namespace, current):
            if _unschedulable_since(pod) is not None:
                return pod
            if pod.spec.nodeName:
                raise ClusterError(
                    f"{pod.metadata.name} was scheduled on {pod.spec.nodeName}; "
                    "the lesson expected it to stay Pending.",
                    "Check the node's allocatable memory: tutorial_lib.kube.nodes(cluster)",
                )
        return None

    result, _ = _wait(
        cluster, name, namespace, timeout, done, f"Waiting for {namespace}/{name} to be refused"
    )
    if not isinstance(result, Pod):
        raise ClusterError(
            f"The scheduler gave no verdict on {namespace}/{name} within {timeout:.0f} s.",
            "Is the scheduler running? python -m tutorial_lib.local status",
        )
    return result


def wait_gone(
    cluster: Cluster, name: str = "vllm", namespace: str = "ml-models", *, timeout: float = 120
) -> None:
    """Wait until the Deployment has no pod left at all (after scaling to zero or deleting).

    kubectl equivalent: ``kubectl wait --for=delete pod -l app=vllm -n ml-models``.
    """
    try:
        selector = _selector(cluster, name, namespace)
    except DeploymentMissing:  # deleted: its pods go with it; the tutorial labels them app=
        selector = {"app": name}
    result, current = _wait(
        cluster,
        name,
        namespace,
        timeout,
        lambda pods: not pods,
        f"Waiting for the pods of {namespace}/{name} to go",
        selector=selector,
    )
    if not result:
        left = ", ".join(current) or "?"
        raise ClusterError(
            f"Pods of {namespace}/{name} still exist after {timeout:.0f} s: {left}",
            f"kubectl get pods -n {namespace} -l app={name}",
        )


def _follow(cluster: Cluster, pod: Pod) -> BackgroundStream[str]:
    name, namespace = pod.metadata.name, pod.metadata.namespace
    return podlogs.log_stream(cluster, name, namespace, follow=True)


def _drain(stream: BackgroundStream[str], on_line: Callable[[str], None] | None) -> None:
    """Hand every line that has arrived to ``on_line`` (on the caller's thread)."""
    while on_line is not None and (line := stream.get(0)) is not None:
        on_line(line)


def ensure_serving(cluster: Cluster, *, timeout: float = 900) -> Pod:
    """Apply the tutorial's overlay (a no-op when nothing changed) and wait until Ready.

    What notebooks after 03 call first, so that each runs on its own.
    """
    apply(cluster, cluster.overlay)
    return wait_ready(cluster, timeout=timeout)
