"""What makes a GPU node's GPU usable: the NVIDIA device plugin, and a driver new enough."""

from __future__ import annotations

import re

from kubernetes import client

from tutorial_lib import names
from tutorial_lib.kube import labels
from tutorial_lib.kube.preflight.needs import Needs
from tutorial_lib.kube.preflight.nodes import node_labels
from tutorial_lib.kube.preflight.report import (
    DEVICE_PLUGIN,
    DRIVER,
    OK,
    PROBLEM,
    WARNING,
    Finding,
    plural,
)
from tutorial_lib.kube.resources import allocatable

#: DaemonSet names of the NVIDIA device plugin: NVIDIA's static manifest and the GPU Operator
#: (``nvidia-device-plugin-daemonset``), its Helm chart (``<release>-nvidia-device-plugin``).
DEVICE_PLUGIN_NAME = re.compile(r"nvidia-device-plugin")
#: Node labels of NVIDIA's GPU feature discovery (GPU Operator, or the device plugin's chart
#: with ``gfd.enabled``): current names first, then the deprecated ones.
DRIVER_LABELS = ("nvidia.com/cuda.driver-version.major", "nvidia.com/cuda.driver.major")
DRIVER_FULL_LABEL = "nvidia.com/cuda.driver-version.full"
CUDA_LABELS = (
    ("nvidia.com/cuda.runtime-version.major", "nvidia.com/cuda.runtime-version.minor"),
    ("nvidia.com/cuda.runtime.major", "nvidia.com/cuda.runtime.minor"),
)
#: The oldest driver branch per CUDA major version (NVIDIA's CUDA compatibility table).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}

_INSTALL_DEVICE_PLUGIN = (
    "helm repo add nvdp https://nvidia.github.io/k8s-device-plugin && helm upgrade -i nvdp "
    "nvdp/nvidia-device-plugin -n nvidia-device-plugin --create-namespace (it tolerates the "
    "nvidia.com/gpu taint); or NVIDIA's GPU Operator. Bottlerocket's NVIDIA variant has it "
    "built in."
)


def _daemonset_text(ds: client.V1DaemonSet) -> str:
    status = ds.status
    ready = (status.number_ready if status else 0) or 0
    desired = (status.desired_number_scheduled if status else 0) or 0
    return f"{ds.metadata.namespace}/{ds.metadata.name} ({ready}/{desired} ready)"


def device_plugin_finding(
    daemonsets: list[client.V1DaemonSet], nodes: list[client.V1Node], needs: Needs, *, local: bool
) -> Finding:
    """Whether a device plugin runs (a DaemonSet named like NVIDIA's) and GPUs are advertised."""
    plugins = [d for d in daemonsets if DEVICE_PLUGIN_NAME.search(d.metadata.name or "")]
    advertising = [n.metadata.name for n in nodes if allocatable(n, names.GPU_RESOURCE) > 0]
    if plugins:
        seen = "; ".join(_daemonset_text(d) for d in plugins)
        desired = [(d.status.desired_number_scheduled or 0) if d.status else 0 for d in plugins]
        ready = [(d.status.number_ready or 0) if d.status else 0 for d in plugins]
        if any(want > 0 and have == want for want, have in zip(desired, ready, strict=True)):
            return Finding(DEVICE_PLUGIN, OK, f"{seen}; GPUs advertised on {plural(advertising)}.")
        if all(want == 0 for want in desired):
            return Finding(
                DEVICE_PLUGIN,
                WARNING,
                f"{seen}: it runs on no node. Either no GPU node exists yet, or the DaemonSet "
                "does not fit the GPU nodes.",
                "It must tolerate the taint nvidia.com/gpu (NVIDIA's chart does); NVIDIA's "
                "chart also runs only on nodes labelled nvidia.com/gpu.present=true (or NFD's "
                "feature.node.kubernetes.io/pci-10de.present=true): add that label to the node "
                "group, or install the chart with gfd.enabled=true.",
            )
        first = plugins[0]
        return Finding(
            DEVICE_PLUGIN,
            WARNING,
            f"{seen}: not ready everywhere.",
            f"kubectl -n {first.metadata.namespace} get pods -o wide | grep device-plugin; "
            f"kubectl -n {first.metadata.namespace} logs ds/{first.metadata.name}",
        )
    if local:
        return Finding(
            DEVICE_PLUGIN,
            OK,
            f"Simulated: kwok advertises {names.GPU_RESOURCE} on the GPU nodes Karpenter "
            f"launches (now: {plural(advertising)}); no device plugin runs on the local "
            "cluster.",
        )
    if advertising:
        return Finding(
            DEVICE_PLUGIN,
            OK,
            f"{names.GPU_RESOURCE} is advertised on {plural(advertising)}, by no DaemonSet "
            "named like nvidia-device-plugin (Bottlerocket's NVIDIA variant has it built in, "
            "or it runs under another name).",
        )
    labelled = [
        n
        for n in nodes
        if needs.node_selector
        and labels.matches({"matchLabels": needs.node_selector}, node_labels(n))
    ]
    return Finding(
        DEVICE_PLUGIN,
        PROBLEM if labelled else WARNING,
        "No NVIDIA device plugin found (no DaemonSet named like nvidia-device-plugin) and no "
        f"node advertises {names.GPU_RESOURCE}: a GPU node would not offer its GPU and the "
        f"pod would stay Pending with 'Insufficient {names.GPU_RESOURCE}'.",
        _INSTALL_DEVICE_PLUGIN,
    )


def _driver_major(node: client.V1Node) -> int | None:
    labelled = node_labels(node)
    for key in DRIVER_LABELS:
        if labelled.get(key, "").isdigit():
            return int(labelled[key])
    return None


def _cuda_of(node: client.V1Node) -> tuple[int, int] | None:
    """The newest CUDA the node's driver supports, as GPU feature discovery labels it."""
    labelled = node_labels(node)
    for major, minor in CUDA_LABELS:
        if labelled.get(major, "").isdigit():
            return int(labelled[major]), int(labelled.get(minor, "0") or 0)
    return None


def driver_finding(nodes: list[client.V1Node], needs: Needs, *, local: bool) -> Finding:
    """The node's driver and CUDA version, from GPU feature discovery's labels, vs the image."""
    cuda = needs.cuda
    minimum = MIN_DRIVER.get(cuda[0]) if cuda else None
    wanted = (
        f"{needs.image} is built for CUDA {cuda[0]}.{cuda[1]}, which needs a {minimum}-series "
        "driver or newer"
        if cuda and minimum
        else f"{needs.image}: no CUDA version in its tag"
    )
    gpu_nodes = [n for n in nodes if allocatable(n, names.GPU_RESOURCE) > 0]
    how = (
        "kubectl debug node/<node> -it --image=busybox -- chroot /host nvidia-smi (its header "
        "shows 'Driver Version' and 'CUDA Version'); GPU feature discovery (GPU Operator, or "
        "the device plugin's chart with gfd.enabled=true) labels nodes with "
        "nvidia.com/cuda.driver-version.*"
    )
    if not gpu_nodes and local:
        return Finding(
            DRIVER,
            OK,
            "Simulated: no driver on the local cluster's GPU nodes, the local runtime is "
            f"vLLM's CPU build. On a real node: {wanted}.",
        )
    if not gpu_nodes:
        return Finding(
            DRIVER, WARNING, f"No GPU node to look at. {wanted}.", "When one runs: " + how
        )
    found, old, unknown = [], [], []
    for node in gpu_nodes:
        major, node_cuda = _driver_major(node), _cuda_of(node)
        name = node.metadata.name
        if major is None and node_cuda is None:
            unknown.append(name)
            continue
        full = node_labels(node).get(DRIVER_FULL_LABEL) or (str(major) if major else "?")
        cuda_text = f"CUDA {node_cuda[0]}.{node_cuda[1]}" if node_cuda else "CUDA ?"
        found.append(f"{name}: driver {full} ({cuda_text})")
        too_old_driver = minimum is not None and major is not None and major < minimum
        too_old_cuda = cuda is not None and node_cuda is not None and node_cuda < cuda
        if too_old_driver or too_old_cuda:
            old.append(name)
    seen = "; ".join(found)
    if old:
        return Finding(
            DRIVER,
            PROBLEM,
            f"{seen}. {wanted}: vLLM would fail at start on {plural(old)} ('CUDA driver "
            "version is insufficient').",
            "A newer GPU AMI (EKS: the AL2023 NVIDIA AMI of your Kubernetes version; aws ssm "
            "get-parameter --name /aws/service/eks/optimized-ami/<version>/amazon-linux-2023/"
            "x86_64/nvidia/recommended/image_id), or a vLLM image built for the CUDA your "
            "driver supports.",
        )
    if unknown and local:
        return Finding(
            DRIVER,
            OK,
            f"Simulated ({plural(unknown)}): no driver, the local runtime is vLLM's CPU build. "
            f"On a real node: {wanted}.",
        )
    if unknown:
        return Finding(
            DRIVER,
            WARNING,
            (f"{seen}. " if seen else "")
            + f"Unknown on {plural(unknown)}: the node reports no driver version. {wanted}.",
            how,
        )
    return Finding(DRIVER, OK, f"{seen}. {wanted}.")
