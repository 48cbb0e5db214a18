"""Change and read what runs on the cluster: apply, delete, scale, get, nodes, endpoints.

The same calls work against the local cluster and a real EKS cluster. Each has its kubectl
equivalent in the docstring. What they return is plain data (tables, dicts, ``PodState``),
never a client object, so notebooks do not depend on the client library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from kubernetes import client

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, NotFound, TutorialError
from tutorial_lib.kube import resources
from tutorial_lib.kube.connection import Connection
from tutorial_lib.tools import manifests, monitoring

#: Applied first and deleted last, so that what the other objects live in exists.
_FIRST = ("CustomResourceDefinition", "Namespace")
_KEY = ("kind", "namespace", "name")


@dataclass(frozen=True)
class PodState:
    """A pod as the tutorial talks about it: where it runs, how far it got."""

    name: str
    namespace: str
    uid: str
    node: str | None
    phase: str
    ready: bool
    restarts: int
    created: datetime | None

    @classmethod
    def of(cls, pod: client.V1Pod) -> PodState:
        statuses = pod.status.container_statuses or [] if pod.status else []
        return cls(
            name=pod.metadata.name,
            namespace=pod.metadata.namespace,
            uid=pod.metadata.uid,
            node=pod.spec.node_name,
            phase=(pod.status.phase if pod.status else None) or "Unknown",
            ready=ready(pod),
            restarts=sum(s.restart_count or 0 for s in statuses),
            created=pod.metadata.creation_timestamp,
        )


def ready(pod: client.V1Pod) -> bool:
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def selector(labels: dict[str, str]) -> str:
    """A label selector in the API's syntax: ``app=vllm,tier=gpu``."""
    return ",".join(f"{key}={value}" for key, value in labels.items())


def _ordered(objects: list[dict]) -> list[dict]:
    def rank(obj: dict) -> int:
        kind = obj.get("kind", "")
        return _FIRST.index(kind) if kind in _FIRST else len(_FIRST)

    return sorted(objects, key=rank)


def _key(obj: dict, namespace: str = "") -> tuple[str, str, str]:
    """(kind, namespace, name); ``namespace`` where the object names none."""
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", namespace), meta["name"]


def _live(
    cluster: Connection, objects: list[dict], *, unknown_kinds_ok: bool = False
) -> dict[tuple[str, str, str], dict]:
    """Each of ``objects`` that exists, as the server has it now."""
    if not objects:
        return {}
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
    return {_key(item): item for item in found.get("items", [found])}


def apply(cluster: Connection, target: str | Path, *, dry_run: bool = False) -> pd.DataFrame:
    """Server-side apply a file, folder or kustomize overlay; a table of what changed.

    CRDs and Namespaces go first. The manifests are the source of truth: fields another
    manager changed (``kubectl scale`` for instance) are taken back (``--force-conflicts``),
    and a Deployment left with a ``RollingUpdate`` strategy by an earlier apply is switched
    to the manifests' ``Recreate`` first (the server refuses ``rollingUpdate`` settings
    next to ``Recreate``, and apply alone cannot remove them).

    kubectl equivalent: ``kubectl apply --server-side -k manifests/overlays/local``.
    """
    return apply_objects(
        cluster, manifests.render(target, cluster.namespace), str(target), dry_run=dry_run
    )


def apply_objects(
    cluster: Connection, objects: list[dict], what: str, *, dry_run: bool = False
) -> pd.DataFrame:
    """``apply`` for objects already rendered; ``what`` names them in an error.

    Nothing to apply (a Namespace alone, rendered for a room that is not its own) is an
    empty table, not kubectl's "no objects passed to apply".
    """
    if not objects:
        return pd.DataFrame(columns=[*_KEY, "action"])
    objects = _ordered(objects)
    live = _live(cluster, objects, unknown_kinds_ok=True)
    before = {key: obj["metadata"]["resourceVersion"] for key, obj in live.items()}
    if not dry_run:
        for obj in objects:
            _clear_rolling_update(cluster, obj, live.get(_key(obj, "default")))
    args = ["apply", "--server-side", f"--field-manager={names.FIELD_MANAGER}"]
    args += ["--force-conflicts", "-o", "json", "-f", "-"]
    if dry_run:
        args.append("--dry-run=server")
    proc = cluster.run_kubectl(*args, input=yaml.safe_dump_all(objects))
    if proc.returncode != 0:
        raise ClusterError(
            f"The API server refused {what}:\n{proc.stderr.strip()}",
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
        rows.append(dict(zip(_KEY, key, strict=True), action=action))
    return pd.DataFrame(rows, columns=[*_KEY, "action"])


def _clear_rolling_update(cluster: Connection, obj: dict, live: dict | None) -> None:
    """Switch a live Deployment to ``Recreate`` when the manifest asks for it.

    A merge patch can set the type and delete ``rollingUpdate`` in one request, which is
    what ``kubectl apply`` of a manifest with ``Recreate`` cannot do once another field
    manager (``kubectl apply`` without ``--server-side``, ``kubectl create``) set them.
    The same request puts back the fields of the pod template that the manifest sets: a
    rollout stuck on a pod that a quota or a full node group refused, by a change to those
    fields, then returns to the running pod's ReplicaSet (``Recreate`` with the stuck
    template would stop the running pod first, and the manifest's template a moment later
    start a new one). A merge patch keeps what the manifest does not name (a
    ``kubectl rollout restart`` annotation, say): such a rollout still ends in a restart.
    """
    strategy = obj.get("spec", {}).get("strategy", {}) if obj.get("kind") == "Deployment" else {}
    if strategy.get("type") != "Recreate":
        return
    if live is None or "rollingUpdate" not in live["spec"].get("strategy", {}):
        return
    meta = obj["metadata"]
    spec: dict[str, Any] = {"strategy": {"type": "Recreate", "rollingUpdate": None}}
    if "template" in obj["spec"]:  # a partial manifest may leave the template as it is
        spec["template"] = obj["spec"]["template"]
    cluster.call(
        cluster.apps.patch_namespaced_deployment,
        meta["name"],
        meta.get("namespace", "default"),
        {"spec": spec},
        _content_type="application/merge-patch+json",
    )


def delete(cluster: Connection, target: str | Path, *, wait: bool = True) -> pd.DataFrame:
    """Delete what ``apply`` created, in reverse order; a table of what was deleted.

    kubectl equivalent: ``kubectl delete -k manifests/overlays/local --ignore-not-found``.
    """
    rendered = manifests.render(target, cluster.namespace)
    return delete_objects(cluster, rendered, str(target), wait=wait)


def delete_objects(
    cluster: Connection,
    objects: list[dict],
    what: str,
    *,
    wait: bool = True,
    labelled: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """``delete`` for objects already rendered; ``what`` names them in an error.

    ``labelled`` (key, value): only those whose live object carries that label, so that an
    object of the same name that someone else made is left alone.
    """
    objects = list(reversed(_ordered(objects)))
    before = _live(cluster, objects) if objects else {}
    if labelled is not None:
        key, value = labelled
        objects = [
            o
            for o in objects
            if before.get(_key(o), {}).get("metadata", {}).get("labels", {}).get(key) == value
        ]
    if not objects:
        return pd.DataFrame(columns=[*_KEY, "deleted"])
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
            f"Deleting {what} failed:\n{proc.stderr.strip()}",
            f"kubectl get all -n {cluster.namespace} shows what is left.",
        )
    rows = [dict(zip(_KEY, _key(o), strict=True), deleted=_key(o) in before) for o in objects]
    return pd.DataFrame(rows, columns=[*_KEY, "deleted"])


def remaining(cluster: Connection, target: str | Path) -> pd.DataFrame:
    """The objects of ``target`` that still exist (empty after a complete ``delete``).

    kubectl equivalent: ``kubectl get -k manifests/overlays/local --ignore-not-found``.
    """
    return remaining_objects(cluster, manifests.render(target, cluster.namespace))


def remaining_objects(cluster: Connection, objects: list[dict]) -> pd.DataFrame:
    """``remaining`` for objects already rendered."""
    return pd.DataFrame(list(_live(cluster, objects)), columns=list(_KEY))


def reset(cluster: Connection) -> pd.DataFrame:
    """Back to the start of notebook 02: the tutorial's objects deleted from the namespace.

    The monitoring objects (notebook 05) and the overlay's go; so does the namespace when it
    is the tutorial's own, while an attendee's stays with its quota and rights (the
    instructor's). kubectl equivalent: ``kubectl delete -k manifests/monitoring`` and
    ``kubectl delete -k manifests/overlays/local``, with ``--ignore-not-found``.
    """
    rules = delete(cluster, monitoring.MONITORING)
    return pd.concat([rules, delete(cluster, cluster.overlay)], ignore_index=True)


def scale(
    cluster: Connection,
    replicas: int,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
) -> int:
    """Set a Deployment's replicas; returns the previous count.

    kubectl equivalent: ``kubectl scale deploy/vllm -n ml-models --replicas=0``.
    """
    namespace = namespace or cluster.namespace
    current = cluster.call(cluster.apps.read_namespaced_deployment_scale, name, namespace)
    cluster.call(
        cluster.apps.patch_namespaced_deployment_scale,
        name,
        namespace,
        {"spec": {"replicas": replicas}},
        _content_type="application/merge-patch+json",
    )
    return int(current.spec.replicas or 0)


def set_resources(
    cluster: Connection,
    *,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    name: str = names.DEPLOYMENT,
    namespace: str | None = None,
) -> None:
    """Change the resources of the Deployment's first container (re-``apply`` to undo).

    kubectl equivalent:
    ``kubectl set resources deploy/vllm -n ml-models --requests=memory=14Gi --limits=memory=16Gi``.
    """
    namespace = namespace or cluster.namespace
    deployment = cluster.call(cluster.apps.read_namespaced_deployment, name, namespace)
    container = deployment.spec.template.spec.containers[0].name
    resources = {k: v for k, v in {"requests": requests, "limits": limits}.items() if v}
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": container, "resources": resources}]}}
        }
    }
    cluster.call(
        cluster.apps.patch_namespaced_deployment,
        name,
        namespace,
        patch,
        _content_type="application/strategic-merge-patch+json",
    )


#: What ``get`` can read: kind and kubectl's short names → the API and its reader
#: (``read_namespace`` and ``read_node`` are the cluster-scoped ones).
_BUILT_IN = {
    ("pod", "pods", "po"): ("core", "read_namespaced_pod"),
    ("service", "services", "svc"): ("core", "read_namespaced_service"),
    ("configmap", "configmaps", "cm"): ("core", "read_namespaced_config_map"),
    ("namespace", "namespaces", "ns"): ("core", "read_namespace"),
    ("node", "nodes", "no"): ("core", "read_node"),
    ("deployment", "deployments", "deploy"): ("apps", "read_namespaced_deployment"),
    ("networkpolicy", "networkpolicies", "netpol"): (
        "networking",
        "read_namespaced_network_policy",
    ),
}
_CUSTOM = {
    ("servicemonitor", "servicemonitors"): (
        names.MONITORING_GROUP,
        names.MONITORING_VERSION,
        "servicemonitors",
    ),
    ("prometheusrule", "prometheusrules"): (
        names.MONITORING_GROUP,
        names.MONITORING_VERSION,
        "prometheusrules",
    ),
}


def get(cluster: Connection, what: str, namespace: str | None = None) -> dict[str, Any]:
    """One object as plain data, the way ``kubectl get -o yaml`` shows it.

    ``what`` is ``kind/name`` as kubectl takes it: ``service/vllm-service``, ``deploy/vllm``.

    kubectl equivalent: ``kubectl get -n ml-models service/vllm-service -o yaml``.
    """
    return _call_on(cluster, what, namespace, "read")


def patch(
    cluster: Connection, what: str, change: dict[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    """Change part of a live object, as a strategic merge patch; returns the object after.

    Lists of containers and ports merge by name, so ``{"spec": {"template": {"spec":
    {"containers": [{"name": "vllm", "args": [...]}]}}}}`` changes one container's args;
    ``None`` deletes a field. ``tl.apply(cluster, cluster.overlay)`` puts back every value
    the manifests set; a field only the patch added stays (server-side apply removes only
    what the manifests' own manager set): patch it to ``None``.

    kubectl equivalent: ``kubectl patch -n ml-models deploy/vllm -p '<change as JSON>'``.
    """
    return _call_on(cluster, what, namespace, "patch", change)


def _call_on(
    cluster: Connection, what: str, namespace: str | None, verb: str, *body: Any
) -> dict[str, Any]:
    """``read`` or ``patch`` the object ``kind/name`` names, whatever API serves its kind."""
    kind, _, name = what.partition("/")
    namespace = namespace or cluster.namespace
    kind = kind.lower()
    for aliases, (group, version, plural) in _CUSTOM.items():
        if kind in aliases:
            custom_verb = "get" if verb == "read" else verb  # the custom-objects API's name
            method = getattr(cluster.custom, f"{custom_verb}_namespaced_custom_object")
            options = {"_content_type": "application/merge-patch+json"} if body else {}
            return cluster.call(method, group, version, namespace, plural, name, *body, **options)
    for aliases, (api_name, reader) in _BUILT_IN.items():
        if kind in aliases:
            method = getattr(getattr(cluster, api_name), reader.replace("read", verb, 1))
            args = (name,) if reader in ("read_namespace", "read_node") else (name, namespace)
            options = {"_content_type": "application/strategic-merge-patch+json"} if body else {}
            obj = cluster.call(method, *args, *body, **options)
            return cluster.api.sanitize_for_serialization(obj)
    kinds = sorted(a[0] for a in (*_BUILT_IN, *_CUSTOM))
    raise TutorialError(
        f"tl.{'get' if verb == 'read' else verb} cannot handle {kind!r}.",
        f"Kinds it knows: {', '.join(kinds)}.",
    )


def nodes(cluster: Connection) -> pd.DataFrame:
    """Each node as the scheduler sees it: instance type, GPUs, allocatable, taints.

    kubectl equivalent: ``kubectl get nodes -L node.kubernetes.io/instance-type`` and
    ``kubectl describe node``.
    """
    rows = []
    for node in cluster.call(cluster.core.list_node).items:
        labels = node.metadata.labels or {}
        offered = (node.status.allocatable if node.status else None) or {}
        rows.append(
            {
                "node": node.metadata.name,
                "instance type": labels.get("node.kubernetes.io/instance-type", ""),
                "GPUs": int(resources.allocatable(node, names.GPU_RESOURCE)),
                "cpu": offered.get("cpu", ""),
                "memory": offered.get("memory", ""),
                "workload label": labels.get("workload", ""),
                "taints": ", ".join(resources.taint_text(t) for t in node.spec.taints or []),
                "simulated": labels.get("type") == "kwok",
            }
        )
    return pd.DataFrame(rows)


def endpoints(
    cluster: Connection, service: str = names.SERVICE, namespace: str | None = None
) -> list[str]:
    """The ready pod addresses behind a Service; empty means no pod matches or none is Ready.

    kubectl equivalent: ``kubectl get endpointslices -n ml-models -l
    kubernetes.io/service-name=vllm-service``.
    """
    slices = cluster.call(
        cluster.discovery.list_namespaced_endpoint_slice,
        namespace or cluster.namespace,
        label_selector=f"{names.SERVICE_NAME_LABEL}={service}",
    )
    return [
        address
        for piece in slices.items
        for e in piece.endpoints or []
        if e.conditions is None or e.conditions.ready is not False
        for address in e.addresses
    ]


def events_of(cluster: Connection, name: str, namespace: str) -> list[client.CoreV1Event]:
    """The events about one object, as ``kubectl describe`` lists them at its end."""
    found = cluster.call(
        cluster.core.list_namespaced_event,
        namespace,
        field_selector=f"involvedObject.name={name}",
    )
    return found.items


def pods(cluster: Connection, namespace: str, labels: dict[str, str]) -> list[client.V1Pod]:
    """The pods matching a label selector that are not being deleted."""
    found = cluster.call(
        cluster.core.list_namespaced_pod, namespace, label_selector=selector(labels)
    )
    return [p for p in found.items if p.metadata.deletion_timestamp is None]


def deployment_selector(cluster: Connection, name: str, namespace: str) -> dict[str, str]:
    """The labels a Deployment selects its pods by."""
    try:
        deployment = cluster.call(cluster.apps.read_namespaced_deployment, name, namespace)
    except NotFound as exc:
        raise NotFound(
            f"There is no Deployment {namespace}/{name}.",
            "Apply the manifests first: tl.apply(cluster, cluster.overlay)",
            status=404,
        ) from exc
    return dict(deployment.spec.selector.match_labels or {})


def newest_pod(
    cluster: Connection, name: str = names.DEPLOYMENT, namespace: str | None = None
) -> client.V1Pod:
    """The Deployment's youngest live pod, preferring Ready ones: after a rollout, the new one.

    (``kubectl logs deploy/vllm`` picks a Ready pod too, but the oldest.)
    """
    namespace = namespace or cluster.namespace
    found = pods(cluster, namespace, deployment_selector(cluster, name, namespace))
    if not found:
        raise ClusterError(
            f"{namespace}/{name} has no pod.",
            f"Is it scaled to zero? kubectl get deploy -n {namespace} {name}",
        )
    return max(found, key=lambda p: (ready(p), p.metadata.creation_timestamp))
