"""Connect to a cluster and change what runs on it: apply, delete, scale.

The same calls work against the local cluster and a real EKS cluster; only ``connect``
differs. Each has its kubectl equivalent in the docstring.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd
import yaml
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.discovery_v1 import EndpointSlice

from tutorial_lib import manifests
from tutorial_lib.errors import TutorialError
from tutorial_lib.local import binaries, paths
from tutorial_lib.local import cluster as local_cluster
from tutorial_lib.streams import BackgroundStream

FIELD_MANAGER = "vllm-tutorial"
T = TypeVar("T")

#: Applied first and deleted last, so that what the other objects live in exists.
_FIRST = ("CustomResourceDefinition", "Namespace")


class ClusterError(TutorialError):
    """The cluster refused a request, or did not reach the state we waited for."""


@dataclass
class Cluster:
    """A connection: the lightkube client and the kubectl command for the same context."""

    kubeconfig: Path
    context: str
    config: SingleConfig
    client: Client
    local: bool

    @property
    def kubectl(self) -> list[str]:
        return [
            str(binaries.kubectl()),
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context,
        ]

    @property
    def overlay(self) -> Path:
        """The tutorial's overlay for this cluster: ``local``, else the blog's ``eks-l4``."""
        return manifests.overlay("local" if self.local else "eks-l4")

    def stream(self, call: Callable[[AsyncClient], AsyncIterator[T]]) -> BackgroundStream[T]:
        """``call``'s async iterator (a watch, a log), run in the background.

        It gets an async client of its own; poll it with a deadline, close it to end the
        request (``tutorial_lib.streams``).
        """

        async def items() -> AsyncIterator[T]:
            client = AsyncClient(self.config, field_manager=FIELD_MANAGER)
            try:
                async for item in call(client):
                    yield item
            finally:
                await client.close()

        return BackgroundStream(items)

    def run_kubectl(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [*self.kubectl, *args],
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"kubectl {args[0]} got no answer within {timeout:.0f} s.",
                f"Is the cluster reachable? kubectl --context {self.context} get nodes",
            ) from exc

    def __repr__(self) -> str:
        where = "the local cluster (kwok, simulated GPU node)" if self.local else "your cluster"
        return f"Cluster(context={self.context!r}, {where})"


def connect(context: str | None = None, *, local: bool | None = None) -> Cluster:
    """Connect to the local cluster (starting it when needed) or a kubeconfig context.

    ``local=None`` decides from ``VLLM_TUTORIAL_CLUSTER`` (``local`` or a context name):
    the one switch that CI and readers without a cluster use.
    """
    choice = os.environ.get("VLLM_TUTORIAL_CLUSTER", "local")
    if local is None:
        local = context is None and choice == "local"
        context = context or (None if local else choice)
    if local:
        local_cluster.up()
        kubeconfig, context = paths.kubeconfig_path(), local_cluster.CONTEXT
    else:
        kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
        kubeconfig = kubeconfig.expanduser()
    try:
        config = KubeConfig.from_file(kubeconfig).get(context_name=context)
        client = Client(config, field_manager=FIELD_MANAGER)
    except (ConfigError, OSError) as exc:
        raise ClusterError(
            f"Cannot use kubeconfig {kubeconfig} (context {context or 'current'}): {exc}",
            "Set KUBECONFIG or pass context=..., or use the local cluster: "
            "python -m tutorial_lib.local up",
        ) from exc
    return Cluster(
        kubeconfig=kubeconfig,
        context=str(context or config.context_name),
        config=config,
        client=client,
        local=local,
    )


def _ordered(objects: list[dict]) -> list[dict]:
    def rank(obj: dict) -> int:
        kind = obj.get("kind", "")
        return _FIRST.index(kind) if kind in _FIRST else len(_FIRST)

    return sorted(objects, key=rank)


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def _versions(
    cluster: Cluster, objects: list[dict], *, unknown_kinds_ok: bool = False
) -> dict[tuple[str, str, str], str]:
    """The resourceVersion of each object that exists (to tell what an apply changed)."""
    proc = cluster.run_kubectl(
        "get", "--ignore-not-found", "-o", "json", "-f", "-", input=yaml.safe_dump_all(objects)
    )
    if proc.returncode != 0:
        unknown_kind = "resource mapping not found" in proc.stderr or "no matches for kind" in (
            proc.stderr
        )
        if unknown_kinds_ok and unknown_kind:
            return {}  # a CRD in the same apply defines the kind: everything will be created
        raise ClusterError(
            f"Cannot read the current objects: {proc.stderr.strip()}",
            f"Is the cluster reachable? kubectl --context {cluster.context} get ns",
        )
    if not proc.stdout.strip():
        return {}
    found = json.loads(proc.stdout)
    return {_key(i): i["metadata"]["resourceVersion"] for i in found.get("items", [found])}


def apply(cluster: Cluster, target: str | Path, *, dry_run: bool = False) -> pd.DataFrame:
    """Server-side apply a file, folder or kustomize overlay; a table of what changed.

    CRDs and Namespaces go first. The manifests are the source of truth: fields another
    manager changed (``kubectl scale`` for instance) are taken back (``--force-conflicts``).

    kubectl equivalent: ``kubectl apply --server-side -k manifests/overlays/local``.
    """
    objects = _ordered(manifests.render(target))
    before = _versions(cluster, objects, unknown_kinds_ok=True)
    args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts"]
    args += ["-o", "json", "-f", "-"]
    if dry_run:
        args.append("--dry-run=server")
    proc = cluster.run_kubectl(*args, input=yaml.safe_dump_all(objects))
    if proc.returncode != 0:
        raise ClusterError(
            f"The API server refused {target}:\n{proc.stderr.strip()}",
            "The message names the object and the field; fix it in the YAML.",
        )
    result = json.loads(proc.stdout)
    rows = []
    for item in result.get("items", [result]):
        key = _key(item)
        if key not in before:
            action = "would be created" if dry_run else "created"
        elif dry_run:
            action = "valid"
        else:
            changed = before[key] != item["metadata"]["resourceVersion"]
            action = "configured" if changed else "unchanged"
        rows.append(dict(zip(("kind", "namespace", "name"), key, strict=True), action=action))
    return pd.DataFrame(rows, columns=["kind", "namespace", "name", "action"])


def delete(cluster: Cluster, target: str | Path, *, wait: bool = True) -> pd.DataFrame:
    """Delete what ``apply`` created, in reverse order; a table of what was deleted.

    kubectl equivalent: ``kubectl delete -k manifests/overlays/local --ignore-not-found``.
    """
    objects = list(reversed(_ordered(manifests.render(target))))
    before = _versions(cluster, objects)
    proc = cluster.run_kubectl(
        "delete",
        "--ignore-not-found",
        f"--wait={str(wait).lower()}",
        "-f",
        "-",
        input=yaml.safe_dump_all(objects),
        timeout=300,
    )
    if proc.returncode != 0:
        raise ClusterError(
            f"Deleting {target} failed:\n{proc.stderr.strip()}",
            "kubectl get all -n ml-models shows what is left.",
        )
    rows = [
        dict(zip(("kind", "namespace", "name"), _key(o), strict=True), deleted=_key(o) in before)
        for o in objects
    ]
    return pd.DataFrame(rows, columns=["kind", "namespace", "name", "deleted"])


def remaining(cluster: Cluster, target: str | Path) -> pd.DataFrame:
    """The objects of ``target`` that still exist (empty after a complete ``delete``).

    kubectl equivalent: ``kubectl get -k manifests/overlays/local --ignore-not-found``.
    """
    left = _versions(cluster, manifests.render(target))
    return pd.DataFrame(list(left), columns=["kind", "namespace", "name"])


def scale(cluster: Cluster, replicas: int, name: str = "vllm", namespace: str = "ml-models") -> int:
    """Set a Deployment's replicas; returns the previous count.

    kubectl equivalent: ``kubectl scale deploy/vllm -n ml-models --replicas=0``.
    """
    try:
        current = cluster.client.get(Deployment.Scale, name, namespace=namespace)
        cluster.client.patch(
            Deployment.Scale, name, {"spec": {"replicas": replicas}}, namespace=namespace
        )
    except ApiError as exc:
        raise ClusterError(
            f"Cannot scale {namespace}/{name}: {exc.status.message}",
            "Apply the manifests first (kube.apply).",
        ) from exc
    return int(current.spec.replicas or 0)


def set_resources(
    cluster: Cluster,
    *,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    name: str = "vllm",
    namespace: str = "ml-models",
) -> None:
    """Change the resources of the Deployment's first container (re-``apply`` to undo).

    kubectl equivalent:
    ``kubectl set resources deploy/vllm -n ml-models --requests=memory=14Gi --limits=memory=16Gi``.
    """
    deployment = cluster.client.get(Deployment, name, namespace=namespace)
    container = deployment.spec.template.spec.containers[0].name
    resources = {"requests": requests or {}, "limits": limits or {}}
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": container, "resources": {k: v for k, v in resources.items() if v}}
                    ]
                }
            }
        }
    }
    cluster.client.patch(Deployment, name, patch, namespace=namespace)


def nodes(cluster: Cluster) -> pd.DataFrame:
    """Each node as the scheduler sees it: instance type, GPUs, allocatable, taints.

    kubectl equivalent: ``kubectl get nodes -L node.kubernetes.io/instance-type`` and
    ``kubectl describe node``.
    """
    rows = []
    for node in cluster.client.list(Node):
        labels = node.metadata.labels or {}
        allocatable = node.status.allocatable or {}
        rows.append(
            {
                "node": node.metadata.name,
                "instance type": labels.get("node.kubernetes.io/instance-type", ""),
                "GPUs": int(allocatable.get("nvidia.com/gpu", "0")),
                "cpu": allocatable.get("cpu", ""),
                "memory": allocatable.get("memory", ""),
                "workload label": labels.get("workload", ""),
                "taints": ", ".join(
                    f"{t.key}={t.value or ''}:{t.effect}" for t in node.spec.taints or []
                ),
                "simulated": labels.get("type") == "kwok",
            }
        )
    return pd.DataFrame(rows)


def endpoints(
    cluster: Cluster, service: str = "vllm-service", namespace: str = "ml-models"
) -> list[str]:
    """The ready pod addresses behind a Service; empty means no pod matches or none is Ready.

    kubectl equivalent: ``kubectl get endpointslices -n ml-models -l
    kubernetes.io/service-name=vllm-service``.
    """
    slices = cluster.client.list(
        EndpointSlice, namespace=namespace, labels={"kubernetes.io/service-name": service}
    )
    return [
        address
        for s in slices
        for e in s.endpoints or []
        if e.conditions is None or e.conditions.ready is not False
        for address in e.addresses
    ]


def pods(cluster: Cluster, namespace: str, selector: dict[str, str]) -> list[Pod]:
    """The pods matching a label selector that are not being deleted."""
    return [
        p
        for p in cluster.client.list(Pod, namespace=namespace, labels=selector)
        if p.metadata.deletionTimestamp is None
    ]


def ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
