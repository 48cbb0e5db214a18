"""Before the first apply: what the tutorial's manifests assume, checked on the cluster.

The blog's setup needs things a fresh EKS cluster does not have, and a reader who lacks one
otherwise learns it from a pod stuck somewhere in notebook 03, or from a target that never
appears: a GPU node with the blog's label and taint, an NVIDIA device plugin advertising
``nvidia.com/gpu``, a driver new enough for the image's CUDA, the Prometheus Operator's
CRDs and a Prometheus that selects our ServiceMonitor, a network plugin that enforces
NetworkPolicies, and a namespace quota with room for the pod. ``preflight`` looks at each
and says what it found and how to fix it: ``ok``, ``warning`` (works, but not as the blog
means it, or cannot be told from the API) or ``problem`` (the tutorial will fail there).

What the pod needs is read from the manifests themselves (``cluster.overlay`` by default):
the Deployment's nodeSelector, tolerations, requests, limits and image, the ServiceMonitor's
and PrometheusRule's labels.

kubectl equivalents: ``kubectl get nodes -L workload``, ``kubectl describe node``,
``kubectl get ds -A``, ``kubectl get crd``, ``kubectl get prometheus -A -o yaml``,
``kubectl describe resourcequota -n ml-models``.
"""

from __future__ import annotations

from tutorial_lib.kube.preflight.gpu import (
    CUDA_LABELS,
    DEVICE_PLUGIN_NAME,
    DRIVER_FULL_LABEL,
    DRIVER_LABELS,
    MIN_DRIVER,
    device_plugin_finding,
    driver_finding,
)
from tutorial_lib.kube.preflight.monitoring import (
    LOCAL_PROMETHEUS,
    RELEASE_COMPONENT,
    crd_finding,
    selection_finding,
)
from tutorial_lib.kube.preflight.needs import Needs, Ours
from tutorial_lib.kube.preflight.network import (
    AWS_NODE,
    AWS_POLICY_AGENTS,
    POLICY_ENGINES,
    network_policy_finding,
)
from tutorial_lib.kube.preflight.nodes import gpu_node_findings
from tutorial_lib.kube.preflight.quota import quota_finding
from tutorial_lib.kube.preflight.report import (
    CHECKS,
    DEVICE_PLUGIN,
    DRIVER,
    GPU_NODE,
    MONITOR_CRD,
    MONITOR_SELECTED,
    NETWORK_POLICY,
    NODE_LABEL,
    NODE_TAINT,
    OK,
    PROBLEM,
    QUOTA,
    RULE_CRD,
    RULE_SELECTED,
    STATUSES,
    WARNING,
    Finding,
    Preflight,
)
from tutorial_lib.kube.preflight.run import monitor_selection, preflight

__all__ = [
    "AWS_NODE",
    "AWS_POLICY_AGENTS",
    "CHECKS",
    "CUDA_LABELS",
    "DEVICE_PLUGIN",
    "DEVICE_PLUGIN_NAME",
    "DRIVER",
    "DRIVER_FULL_LABEL",
    "DRIVER_LABELS",
    "GPU_NODE",
    "LOCAL_PROMETHEUS",
    "MIN_DRIVER",
    "MONITOR_CRD",
    "MONITOR_SELECTED",
    "NETWORK_POLICY",
    "NODE_LABEL",
    "NODE_TAINT",
    "OK",
    "POLICY_ENGINES",
    "PROBLEM",
    "QUOTA",
    "RELEASE_COMPONENT",
    "RULE_CRD",
    "RULE_SELECTED",
    "STATUSES",
    "WARNING",
    "Finding",
    "Needs",
    "Ours",
    "Preflight",
    "crd_finding",
    "device_plugin_finding",
    "driver_finding",
    "gpu_node_findings",
    "monitor_selection",
    "network_policy_finding",
    "preflight",
    "quota_finding",
    "selection_finding",
]
