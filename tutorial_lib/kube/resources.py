"""What a pod asks of a node, in the scheduler's terms: requests, quantities, taints.

Shared by ``diagnose`` (why a pod does not schedule) and ``preflight`` (the manifests before
the first apply). Containers, tolerations and taints may be typed objects from the API
(``V1Container``, ``V1Toleration``, ``V1Taint``) or rendered manifests (dicts): both are
read through ``watch.field_of``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kubernetes import client
from kubernetes.utils import parse_quantity

from tutorial_lib.kube.watch import field_of

#: The taint effects that keep a pod off a node (PreferNoSchedule only discourages it).
HARD_EFFECTS = ("NoSchedule", "NoExecute")


def add(total: dict[str, Decimal], quantities: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """Add quantities (``"500m"``, ``"14Gi"``, ...) to ``total`` by resource; return it."""
    for resource, value in (quantities or {}).items():
        total[resource] = total.get(resource, Decimal(0)) + parse_quantity(value)
    return total


def summed(containers: Iterable[Any] | None, scope: str = "requests") -> dict[str, Decimal]:
    """The containers' ``requests`` (or ``limits``) added up by resource."""
    total: dict[str, Decimal] = {}
    for container in containers or []:
        add(total, field_of(container, "resources", scope))
    return total


def allocatable(node: client.V1Node, resource: str) -> Decimal:
    """What the node offers pods of ``resource`` in all (0 when it lists none)."""
    offered = (node.status.allocatable if node.status else None) or {}
    return parse_quantity(offered.get(resource, "0"))


def human(resource: str, amount: Decimal) -> str:
    """A quantity as a reader says it: memory and storage in GiB, CPU in cores."""
    if resource.endswith("memory") or resource.endswith("storage"):
        return f"{amount / 2**30:.2f} GiB"
    if resource.endswith("cpu"):
        return f"{amount.normalize():f} CPU"
    return f"{amount.normalize():f}"


def tolerates(tolerations: Iterable[Any] | None, taint: Any) -> bool:
    """Kubernetes' rule: same key (an empty key with Exists matches all), effect, value.

    An empty effect matches every effect; ``Exists`` matches any value, ``Equal`` (the
    default operator) the same value.
    """
    key, value, effect = (field_of(taint, name) for name in ("key", "value", "effect"))
    for toleration in tolerations or []:
        operator = field_of(toleration, "operator") or "Equal"
        tolerated_key = field_of(toleration, "key")
        if tolerated_key:
            if tolerated_key != key:
                continue
        elif operator != "Exists":
            continue
        if field_of(toleration, "effect") not in (None, "", effect):
            continue
        if operator == "Exists" or (field_of(toleration, "value") or "") == (value or ""):
            return True
    return False


def taint_text(taint: Any) -> str:
    """A taint (or a toleration) as ``kubectl taint`` writes it: ``key=value:Effect``."""
    key, value, effect = (field_of(taint, name) for name in ("key", "value", "effect"))
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"
