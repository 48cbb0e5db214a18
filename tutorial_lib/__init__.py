"""Helpers for the tutorial's notebooks: one readable call per step.

import tutorial_lib as tl

cluster = tl.connect()                      # local cluster, or a kubeconfig context
tl.apply(cluster, cluster.overlay)
pod = tl.wait_ready(cluster)
with tl.port_forward(cluster) as tunnel:
    print(tl.chat(tunnel.url, "What is Kubernetes?").text)

Everything returns plain data (tables, dicts, ``PodState``); the Kubernetes client stays
inside the library. The layers, bottom to top: ``domain`` and ``serving`` (no cluster),
``tools``, ``kube``, ``local`` (the local cluster), ``api``; ``docs/decisions.md`` says why.
"""

from typing import Any

from tutorial_lib import errors, names
from tutorial_lib.api.connect import connect
from tutorial_lib.api.live import LiveStartup
from tutorial_lib.api.prometheus import reach_prometheus
from tutorial_lib.api.smoke import smoke_test
from tutorial_lib.domain import costs, flows, sizing, startup
from tutorial_lib.errors import ClusterError, TutorialError
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.diagnose import explain, scheduling
from tutorial_lib.kube.logs import logs, show_logs
from tutorial_lib.kube.objects import (
    PodState,
    apply,
    delete,
    endpoints,
    get,
    nodes,
    remaining,
    scale,
    set_resources,
)
from tutorial_lib.kube.portforward import port_forward
from tutorial_lib.kube.preflight import preflight
from tutorial_lib.kube.waits import ensure_serving, wait_gone, wait_pending, wait_ready
from tutorial_lib.serving import promql as prometheus
from tutorial_lib.serving import vllm_metrics
from tutorial_lib.serving.completions import (
    ask,
    chat,
    complete,
    has_chat_template,
    served_model,
)
from tutorial_lib.serving.vllm_metrics import histogram_quantile, metrics
from tutorial_lib.tools import manifests, monitoring, netpol
from tutorial_lib.tools.manifests import overlay, render

__all__ = [
    "Calculator",
    "ClusterError",
    "Connection",
    "LiveStartup",
    "PodState",
    "TutorialError",
    "apply",
    "ask",
    "chat",
    "complete",
    "connect",
    "costs",
    "delete",
    "endpoints",
    "ensure_serving",
    "errors",
    "explain",
    "flows",
    "get",
    "has_chat_template",
    "histogram_quantile",
    "logs",
    "manifests",
    "metrics",
    "monitoring",
    "names",
    "netpol",
    "nodes",
    "overlay",
    "port_forward",
    "preflight",
    "prometheus",
    "reach_prometheus",
    "remaining",
    "render",
    "scale",
    "scheduling",
    "served_model",
    "set_resources",
    "show_logs",
    "sizing",
    "smoke_test",
    "startup",
    "vllm_metrics",
    "wait_gone",
    "wait_pending",
    "wait_ready",
]


def __getattr__(name: str) -> Any:
    """``tl.Calculator``, imported on first use.

    It brings ipywidgets and matplotlib, which the daemons and command-line tools never need.
    """
    if name == "Calculator":
        from tutorial_lib.domain.calculator import Calculator

        return Calculator
    raise AttributeError(f"module 'tutorial_lib' has no attribute {name!r}")
