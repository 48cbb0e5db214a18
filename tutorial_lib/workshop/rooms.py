"""The attendees' rooms: namespace, rights and quota, and on the local cluster a GPU node each."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import yaml

from tutorial_lib import names
from tutorial_lib.errors import ClusterError
from tutorial_lib.kube import objects
from tutorial_lib.kube.connection import Connection
from tutorial_lib.local import autoscaler, gpus, runtime
from tutorial_lib.tools import manifests

WORKSHOP = manifests.ROOT / "workshop"
#: The label on everything the tool creates: ``delete`` and ``status`` find the rooms by it.
PART_OF_KEY, PART_OF = "app.kubernetes.io/part-of", "vllm-tutorial-workshop"
#: Pod Security Admission on every room: no privileged, hostPath or hostNetwork pod on the
#: shared nodes. The tutorial's Deployment meets ``restricted`` (docs/blog-corrections.md #12).
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted"}
#: How long the controller-manager may take to put a new room in force (seconds).
IN_FORCE_TIMEOUT = 60.0


def attendee_names(attendees: int, prefix: str = "attendee") -> list[str]:
    """``attendee-01`` ...: two digits, so that they sort right up to 99."""
    return [f"{prefix}-{n:02d}" for n in range(1, attendees + 1)]


def in_room(cluster: Connection, name: str) -> Connection:
    """The instructor's connection, working in one attendee's namespace."""
    return dataclasses.replace(cluster, namespace=name)


def _labelled(obj: dict) -> dict:
    obj["metadata"].setdefault("labels", {})[PART_OF_KEY] = PART_OF
    return obj


def _room(name: str) -> list[dict]:
    """The namespace and what ``manifests/workshop`` puts in it, moved there."""
    meta = {"name": name, "labels": dict(POD_SECURITY)}
    namespace = _labelled({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    return [namespace, *manifests.render(WORKSHOP / "attendee.yaml", name)]


def _gpu_node(name: str) -> dict:
    """A simulated g6.xlarge, as Karpenter launches them (``tutorial_lib/local/gpu-node.yaml``).

    Static, not Karpenter's: the instructor's node group scaled to the number of attendees,
    which the local NodePool's limit of two GPUs would not allow.
    """
    node = autoscaler.gpu_node()
    node["metadata"]["name"] = node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    return _labelled(node)


def create(cluster: Connection, attendees: list[str]) -> pd.DataFrame:
    """The rooms of ``attendees`` (a second call changes nothing); what was applied.

    On the local cluster each attendee also gets a simulated GPU node (``<name>-gpu``),
    the way an instructor on EKS scales the GPU node group to the number of attendees.
    """
    if cluster.local:
        _refuse_more_rooms_than_gpus(attendees)
    taken = sorted(set(attendees) & _namespaces_of_others(cluster))
    if taken:
        raise ClusterError(
            f"The namespaces {', '.join(taken)} exist and were not made by the workshop tool.",
            "Choose other names (--prefix), or delete those namespaces yourself if they are "
            "left over from a workshop made by hand.",
        )
    wanted = manifests.render(WORKSHOP / "cluster.yaml")
    for name in attendees:
        wanted += _room(name)
        if cluster.local:
            wanted.append(_gpu_node(f"{name}-gpu"))
    applied = objects.apply_objects(cluster, wanted, "the workshop's rooms")
    _wait_in_force(cluster, attendees)
    return applied


def _refuse_more_rooms_than_gpus(attendees: list[str]) -> None:
    """Where this machine's GPUs serve the rooms, a room's pod holds one of them for its life.

    Each room's node offers a GPU to the scheduler, but the bridge has only the real ones to
    hand out: the pod of a room beyond them would fail to start (``RunContainerError``).
    """
    if runtime.serving() is not runtime.Build.CUDA:
        return
    count = len(gpus.usable())  # the bridge's, whatever this caller's VLLM_TUTORIAL_GPU says
    if len(attendees) > count:
        raise ClusterError(
            f"{len(attendees)} rooms asked for, and this local cluster's vLLM runs on this "
            f"machine's {count} GPU(s): each room's pod holds one (and your own vLLM in "
            f"{names.NAMESPACE} one more while it runs), so {len(attendees) - count} room(s) "
            "could never start their vLLM.",
            f"Hand out at most {count} room(s) here, or serve every room from the CPU stand-in: "
            "`VLLM_TUTORIAL_GPU=off python -m tutorial_lib.local up` (docs/instructors.md).",
        )


def _in_force(cluster: Connection, name: str) -> bool:
    """Whether the room's quota counts and a pod may be created in it.

    The API server admits anything a ResourceQuota would refuse until the controller-manager
    has copied the quota's ``spec.hard`` into its ``status.hard``: a room handed out before
    that lets its attendee open a LoadBalancer or a second GPU pod. A pod is refused until
    the namespace's ``default`` ServiceAccount exists.
    """
    quotas = cluster.call(
        cluster.core.list_namespaced_resource_quota,
        name,
        label_selector=f"{PART_OF_KEY}={PART_OF}",
    ).items
    accounts = cluster.call(
        cluster.core.list_namespaced_service_account, name, field_selector="metadata.name=default"
    ).items
    counted = all(q.status and q.status.hard == q.spec.hard for q in quotas)
    return bool(quotas) and counted and bool(accounts) and _external_ips_refused(cluster, name)


#: What the rooms' admission policy (``manifests/workshop/cluster.yaml``) must refuse.
_EXTERNAL_IPS_PROBE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "in-force-probe"},
    "spec": {"ports": [{"port": 80}], "externalIPs": ["192.0.2.1"]},
}


def _external_ips_refused(cluster: Connection, name: str) -> bool:
    """Whether the policy against externalIPs holds in the room yet (a server-side dry run).

    The API server enforces a new ValidatingAdmissionPolicy only once it has compiled it.
    """
    proc = cluster.run_kubectl(
        "create",
        "--dry-run=server",
        "-n",
        name,
        "-f",
        "-",
        input=yaml.safe_dump(_EXTERNAL_IPS_PROBE),
    )
    return proc.returncode != 0 and "externalIPs" in proc.stderr


def _wait_in_force(cluster: Connection, attendees: list[str]) -> None:
    waiting = list(attendees)
    deadline = time.monotonic() + IN_FORCE_TIMEOUT
    while waiting := [name for name in waiting if not _in_force(cluster, name)]:
        if time.monotonic() > deadline:
            raise ClusterError(
                f"The rooms {', '.join(waiting)} were not in force after "
                f"{IN_FORCE_TIMEOUT:.0f} s: their quota is not counted yet, their default "
                "ServiceAccount is missing, or the policy against externalIPs does not hold. "
                "Do not hand them out.",
                f"kubectl describe resourcequota -n {waiting[0]} (no 'Used' column: the "
                "controller-manager's resourcequota controller is not running); kubectl get "
                f"serviceaccounts -n {waiting[0]}; kubectl get validatingadmissionpolicies",
            )
        time.sleep(0.3)


def _namespaces_of_others(cluster: Connection) -> set[str]:
    found = cluster.call(cluster.core.list_namespace)
    return {
        ns.metadata.name
        for ns in found.items
        if (ns.metadata.labels or {}).get(PART_OF_KEY) != PART_OF
    }


def rooms(cluster: Connection) -> list[str]:
    """The attendees' namespaces that exist, sorted."""
    found = cluster.call(cluster.core.list_namespace, label_selector=f"{PART_OF_KEY}={PART_OF}")
    return sorted(ns.metadata.name for ns in found.items)


def reset(cluster: Connection, name: str) -> pd.DataFrame:
    """One attendee back to the start: ``tl.reset`` in their namespace; rights stay."""
    existing = rooms(cluster)
    if name not in existing:
        raise ClusterError(f"No attendee {name!r}.", f"The rooms: {', '.join(existing)}.")
    return objects.reset(in_room(cluster, name))


def delete(cluster: Connection) -> pd.DataFrame:
    """Every room, its cluster-wide binding and node, and the shared ClusterRole.

    Only what carries the tool's label: a node or role of the same name made by someone
    else stays.
    """
    attendees = rooms(cluster)
    doomed = [obj for name in attendees for obj in _room(name)]
    doomed += [_gpu_node(f"{name}-gpu") for name in attendees] if cluster.local else []
    doomed += manifests.render(WORKSHOP / "cluster.yaml")
    return objects.delete_objects(
        cluster, doomed, "the workshop's rooms", labelled=(PART_OF_KEY, PART_OF)
    )


def status(cluster: Connection) -> pd.DataFrame:
    """Each attendee's progress: which of the tutorial's objects exist, and their pod."""
    rows = []
    rendered = manifests.render(cluster.overlay)  # once: each room gets a moved copy
    for name in rooms(cluster):
        room = in_room(cluster, name)
        present = objects.remaining_objects(room, manifests.moved(rendered, name))
        row = {"attendee": name, "objects": ", ".join(sorted(present["kind"])) or "none"}
        row |= {"pod": "", "ready": False, "node": "", "smoke test": ""}
        try:
            meta = objects.get(room, f"deploy/{names.DEPLOYMENT}")["metadata"]
            row["smoke test"] = meta.get("annotations", {}).get(names.SMOKE_TEST_ANNOTATION, "")
            pod = objects.PodState.of(objects.newest_pod(room))
            row |= {"pod": pod.phase, "ready": pod.ready, "node": pod.node or ""}
        except ClusterError:  # no Deployment yet, or scaled to zero (notebook 07)
            pass
        rows.append(row)
    columns = ["attendee", "objects", "pod", "ready", "node", "smoke test"]
    return pd.DataFrame(rows, columns=columns)
