"""Whether the namespace's ResourceQuotas leave room for one vLLM pod."""

from __future__ import annotations

from decimal import Decimal

from kubernetes import client
from kubernetes.utils import parse_quantity

from tutorial_lib import names
from tutorial_lib.kube.preflight.needs import Needs
from tutorial_lib.kube.preflight.report import OK, PROBLEM, QUOTA, Finding
from tutorial_lib.kube.resources import add, human, summed


def _quota_need(key: str, needs: Needs) -> Decimal | None:
    """What one pod of the Deployment adds to a quota's ``key``; None: not counted here."""
    if key == "pods":
        return Decimal(1)
    scope, _, resource = key.partition(".")
    if scope == "requests" and resource:
        return needs.requests.get(resource, Decimal(0))
    if scope == "limits" and resource:
        return needs.limits.get(resource, Decimal(0))
    if key in ("cpu", "memory"):
        return needs.requests.get(key, Decimal(0))
    return None


def _pod_usage(pods: list[client.V1Pod]) -> dict[str, Decimal]:
    """What these pods count against a quota, by quota key."""
    usage: dict[str, Decimal] = {}
    for pod in pods:
        if (pod.status.phase if pod.status else None) in ("Succeeded", "Failed"):
            continue
        usage["pods"] = usage.get("pods", Decimal(0)) + 1
        for scope in ("requests", "limits"):
            amounts = summed(pod.spec.containers, scope)
            add(usage, {f"{scope}.{resource}": amount for resource, amount in amounts.items()})
            if scope == "requests":  # the short keys ``cpu`` and ``memory`` count requests
                add(usage, {r: amounts[r] for r in ("cpu", "memory") if r in amounts})
    return usage


def quota_finding(
    quotas: list[client.V1ResourceQuota] | None,
    needs: Needs,
    namespace: str,
    own_pods: list[client.V1Pod] | None = None,
) -> Finding:
    """Whether every ResourceQuota of the namespace leaves room for one vLLM pod.

    ``quotas`` is None when the namespace does not exist yet. The tutorial's own pods are
    counted as free: with ``strategy: Recreate`` the old pod goes before the new one comes.
    """
    if quotas is None and namespace != names.NAMESPACE:
        return Finding(
            QUOTA,
            PROBLEM,
            f"Namespace {namespace} does not exist: apply creates only the tutorial's own "
            f"({names.NAMESPACE}).",
            f"kubectl create namespace {namespace}; in a workshop, your instructor's "
            "python -m tutorial_lib.workshop create makes it.",
        )
    if quotas is None:
        return Finding(
            QUOTA,
            OK,
            f"Namespace {namespace} does not exist yet: the first apply creates it, without a "
            "ResourceQuota.",
        )
    if not quotas:
        return Finding(QUOTA, OK, f"No ResourceQuota in {namespace}.")
    own = _pod_usage(own_pods or [])
    short, room = [], []
    for quota in quotas:
        hard = (quota.spec.hard if quota.spec else None) or {}
        used = (quota.status.used if quota.status else None) or {}
        for key, limit in sorted(hard.items()):
            need = _quota_need(key, needs)
            if need is None:
                continue
            free = parse_quantity(limit) - parse_quantity(used.get(key, "0")) + own.get(key, 0)
            resource = key.partition(".")[2] if "." in key else key
            line = (
                f"{quota.metadata.name} {key}: {human(resource, max(free, Decimal(0)))} free, "
                f"the pod needs {human(resource, need)}"
            )
            (short if need > free else room).append(line)
    if short:
        return Finding(
            QUOTA,
            PROBLEM,
            f"Too small: {'; '.join(short)}. The ReplicaSet's pod would be refused "
            "('exceeded quota'), and the Deployment shows no pod at all.",
            f"kubectl describe resourcequota -n {namespace}; ask your cluster admin to raise "
            "it, or lower the requests and limits in manifests/base/deployment.yaml.",
        )
    return Finding(QUOTA, OK, f"Room for the pod: {'; '.join(room) or 'nothing it limits'}.")
