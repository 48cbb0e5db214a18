"""Helpers for the tutorial's notebooks: one readable call per step.

import tutorial_lib as tl

cluster = tl.connect()                      # local cluster, or a kubeconfig context
tl.apply(cluster, tl.overlay("local"))
tl.wait_ready(cluster)
with tl.port_forward(cluster) as tunnel:
    print(tl.chat(tunnel.url, "What is Kubernetes?").text)
"""

from tutorial_lib.completions import chat, complete
from tutorial_lib.diagnose import explain, scheduling
from tutorial_lib.kube import (
    Cluster,
    ClusterError,
    apply,
    connect,
    delete,
    endpoints,
    nodes,
    pods,
    ready,
    remaining,
    scale,
    set_resources,
)
from tutorial_lib.manifests import overlay, render
from tutorial_lib.podlogs import logs, newest_pod, show_logs
from tutorial_lib.portforward import port_forward
from tutorial_lib.smoke import smoke_test
from tutorial_lib.vllm_metrics import histogram_quantile, metrics
from tutorial_lib.wait import ensure_serving, wait_gone, wait_pending, wait_ready

__all__ = [
    "Cluster",
    "ClusterError",
    "apply",
    "chat",
    "complete",
    "connect",
    "delete",
    "endpoints",
    "ensure_serving",
    "explain",
    "histogram_quantile",
    "logs",
    "metrics",
    "newest_pod",
    "nodes",
    "overlay",
    "pods",
    "port_forward",
    "ready",
    "remaining",
    "render",
    "scale",
    "scheduling",
    "set_resources",
    "show_logs",
    "smoke_test",
    "wait_gone",
    "wait_pending",
    "wait_ready",
]
