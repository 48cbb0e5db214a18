"""Karpenter with its kwok provider: the local GPU node group, from zero to two nodes.

Karpenter is the real controller an EKS cluster runs; only its cloud provider is kwok's:
"launching" a g6.xlarge creates a Node object, which kwok then keeps Ready, and the runtime
bridge runs vLLM on it as on any other simulated node. A pending vLLM pod gets a node in
seconds; an empty node is removed after the NodePool's ``consolidateAfter``.

The daemon runs the binary, starts it again if it exits, and stops it with itself.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import yaml
from kubernetes.utils import parse_quantity

from tutorial_lib import names
from tutorial_lib.domain import prices
from tutorial_lib.errors import ClusterError
from tutorial_lib.kube import nodegroup
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.local import binaries, cluster, daemons, gpus, paths, ports, versions
from tutorial_lib.tools import gomodules, manifests

log = logging.getLogger(__name__)

#: The local NodePool and its KWOKNodeClass: the EKS NodePool with the kwok node class.
NODEPOOL = manifests.ROOT / "karpenter" / "local"
#: Karpenter's CRDs as its kwok chart ships them, and the KWOKNodeClass.
CRD_FILES = (
    "kwok/charts/crds/karpenter.sh_nodepools.yaml",
    "kwok/charts/crds/karpenter.sh_nodeclaims.yaml",
    "kwok/charts/crds/karpenter.sh_nodeoverlays.yaml",
    "kwok/charts/crds/autoscaling.x-k8s.io_capacitybuffers.yaml",
    "kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml",
)
#: What the kwok provider subtracts from an instance type for the kubelet (its helpers.go).
PROVIDER_OVERHEAD = {"cpu": 100, "memory": 10}  # millicores, MiB
MIB = 2**20
#: The blog's region (eu-central-1, Frankfurt); Karpenter wants a zone per offering.
ZONE = "eu-central-1a"
_CHECK_SECONDS, _MAX_BACKOFF_SECONDS = 5.0, 60.0


def gpu_node() -> dict[str, Any]:
    """The g6.xlarge as the scheduler sees it on EKS (``gpu-node.yaml``)."""
    return yaml.safe_load(paths.package_text("gpu-node.yaml"))


def instance_types() -> list[dict[str, Any]]:
    """Karpenter's instance-types file: g6.xlarge only, at the blog's price.

    The provider's node offers the instance's resources minus a fixed overhead; the file
    adds that overhead to what an EKS kubelet offers, so a launched node has exactly the
    allocatable of ``gpu-node.yaml`` and the blog's 14Gi request fits no instance type.
    Where this machine's GPUs back the node, it offers their count instead of the L4.
    """
    node = gpu_node()
    allocatable = node["status"]["allocatable"]
    labels = node["metadata"]["labels"]
    cpu = int(parse_quantity(allocatable["cpu"]) * 1000) + PROVIDER_OVERHEAD["cpu"]
    memory = int(parse_quantity(allocatable["memory"]) / MIB) + PROVIDER_OVERHEAD["memory"]
    offering = {
        "Price": prices.ON_DEMAND[labels["node.kubernetes.io/instance-type"]],
        "Available": True,
        "Requirements": [
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [ZONE]},
        ],
    }
    return [
        {
            "name": labels["node.kubernetes.io/instance-type"],
            "architecture": labels["kubernetes.io/arch"],
            "operatingSystems": [labels["kubernetes.io/os"]],
            "resources": {
                "cpu": f"{cpu}m",
                "memory": f"{memory}Mi",
                "nvidia.com/gpu": str(len(gpus.backing()) or allocatable["nvidia.com/gpu"]),
                "pods": allocatable["pods"],
                "ephemeral-storage": allocatable["ephemeral-storage"],
            },
            "offerings": [offering],
        }
    ]


def nodepool() -> list[dict[str, Any]]:
    """The local NodePool; where this machine's GPUs back the node, one node of all of them.

    The limit keeps Karpenter from launching a second node the same GPUs would have to
    back, and the node carries the real GPU's product label, as NVIDIA's feature discovery
    sets it on EKS.
    """
    objects = manifests.render(NODEPOOL)
    backing = gpus.backing()
    if backing:
        pool = next(o for o in objects if o["kind"] == "NodePool")
        pool["spec"]["limits"][names.GPU_RESOURCE] = str(len(backing))
        labels = pool["spec"]["template"]["metadata"]["labels"]
        labels["nvidia.com/gpu.product"] = backing[0].product
    return objects


def crds() -> list[str]:
    """The CRD manifests, from the Karpenter module the binary is built from."""
    return [
        gomodules.read(versions.KARPENTER_MODULE, versions.KARPENTER, versions.KARPENTER_H1, name)
        for name in CRD_FILES
    ]


def crd_source() -> Path:
    """The module zip the CRDs come from, fetched if need be; a workshop bundle carries it."""
    with gomodules.module_zip(versions.KARPENTER_MODULE, versions.KARPENTER, versions.KARPENTER_H1):
        pass  # fetched and checked
    return gomodules.zip_path(versions.KARPENTER_MODULE, versions.KARPENTER)


def home() -> Path:
    return paths.state_dir() / "karpenter"


def command(binary: Path, types_file: Path) -> list[str]:
    return [
        str(binary),
        f"--instance-types-file-path={types_file}",
        # One process per cluster (the daemon's pid file): no dead process's lease to wait
        # out after a restart (controller-runtime's default, 15 s) before deciding anything.
        "--disable-leader-election",
        f"--metrics-port={ports.karpenter_metrics()}",  # on 127.0.0.1 (patches.KARPENTER)
        f"--health-probe-port={ports.karpenter_health()}",
        "--log-level=info",
    ]


def orphans(connection: Connection) -> list[str]:
    """NodeClaims marked Launched whose node no process is going to create.

    The kwok provider marks a claim Launched at once and creates its Node only after the
    node class's registration delay, in the background: a Karpenter that dies in between
    leaves a claim whose node never comes. Karpenter replaces an unregistered claim only
    after its registration timeout, 15 minutes, and keeps the pending pod waiting for it.
    Called while no Karpenter runs, so every such claim is an orphan.
    """
    providers = {node.spec.provider_id for node in connection.call(connection.core.list_node).items}
    return [
        claim["metadata"]["name"]
        for claim in nodegroup.nodeclaims(connection)
        if nodegroup.condition(claim, "Launched")
        and not nodegroup.condition(claim, "Registered")
        and claim.get("status", {}).get("providerID") not in providers
    ]


def forget_orphans() -> None:
    """Delete the orphans, so that the Karpenter started next launches their pods again."""
    try:
        connection = from_kubeconfig(paths.kubeconfig_path(), cluster.CONTEXT, local=True)
        for name in orphans(connection):
            log.warning(
                "NodeClaim %s lost its node with the Karpenter that launched it: deleting it", name
            )
            connection.call(
                connection.custom.delete_cluster_custom_object,
                names.KARPENTER_GROUP,
                names.KARPENTER_VERSION,
                "nodeclaims",
                name,
            )
    except ClusterError as exc:  # the cluster going down: nothing to launch for
        log.warning("Could not look for orphaned NodeClaims: %s", exc)


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    forget_orphans()
    return subprocess.Popen(
        args,
        env=dict(os.environ) | {"KUBECONFIG": str(paths.kubeconfig_path())},
        cwd=home(),
        stdin=subprocess.DEVNULL,
        preexec_fn=daemons.die_with_parent,  # the daemon is single-threaded
    )


def run(stopping: threading.Event) -> None:
    """Keep Karpenter running until ``stopping`` is set."""
    home().mkdir(parents=True, exist_ok=True)
    types_file = home() / "instance-types.json"
    types_file.write_text(json.dumps(instance_types(), indent=2))
    args = command(binaries.ensure("karpenter-kwok")["karpenter-kwok"], types_file)
    karpenter, delay = _start(args), _CHECK_SECONDS
    while not stopping.wait(delay):
        if karpenter.poll() is None:
            delay = _CHECK_SECONDS
            continue
        # Back off while it keeps failing (a cluster gone, a port taken): 5 s doubling to 1 min.
        delay = min(delay * 2, _MAX_BACKOFF_SECONDS)
        log.warning(
            "Karpenter exited with %s; starting it again (next check in %.0f s; its output "
            "is above)",
            karpenter.returncode,
            delay,
        )
        karpenter = _start(args)
    daemons.end_child(karpenter)


def main() -> None:
    daemons.until_sigterm(run)


if __name__ == "__main__":
    main()
