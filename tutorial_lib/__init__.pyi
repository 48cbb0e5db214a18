"""The names ``import tutorial_lib as tl`` offers, for type checkers and for the lazy loader.

``__init__.py`` reads these imports and performs each on first use (PEP 562): one list of
names, two readers.
"""

from tutorial_lib import errors, names
from tutorial_lib.api import exercises
from tutorial_lib.api.adapters import adapter_matrices, publish_adapters
from tutorial_lib.api.bench import bench_serve
from tutorial_lib.api.connect import connect
from tutorial_lib.api.live import LiveStartup
from tutorial_lib.api.prometheus import reach_prometheus
from tutorial_lib.api.shutdown import request_in_flight
from tutorial_lib.api.smoke import smoke_test
from tutorial_lib.domain import costs, flows, sizing, startup
from tutorial_lib.domain.calculator import Calculator
from tutorial_lib.errors import ClusterError, TutorialError
from tutorial_lib.kube import nodegroup
from tutorial_lib.kube.cli import kubectl
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.diagnose import explain, scheduling
from tutorial_lib.kube.logs import logs, show_logs
from tutorial_lib.kube.nodegroup import node_group, wait_node_gone
from tutorial_lib.kube.objects import (
    PodState,
    apply,
    delete,
    endpoints,
    get,
    nodes,
    patch,
    remaining,
    reset,
    scale,
    set_resources,
)
from tutorial_lib.kube.portforward import port_forward
from tutorial_lib.kube.preflight import preflight
from tutorial_lib.kube.waits import (
    ensure_serving,
    wait_crashing,
    wait_endpoints,
    wait_gone,
    wait_pending,
    wait_ready,
    wait_scheduled,
)
from tutorial_lib.serving import load, lora, vllm_metrics
from tutorial_lib.serving import promql as prometheus
from tutorial_lib.serving.completions import (
    ask,
    chat,
    complete,
    has_chat_template,
    served_model,
    served_models,
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
    "adapter_matrices",
    "apply",
    "ask",
    "bench_serve",
    "chat",
    "complete",
    "connect",
    "costs",
    "delete",
    "endpoints",
    "ensure_serving",
    "errors",
    "exercises",
    "explain",
    "flows",
    "get",
    "has_chat_template",
    "histogram_quantile",
    "kubectl",
    "load",
    "logs",
    "lora",
    "manifests",
    "metrics",
    "monitoring",
    "names",
    "netpol",
    "node_group",
    "nodegroup",
    "nodes",
    "overlay",
    "patch",
    "port_forward",
    "preflight",
    "prometheus",
    "publish_adapters",
    "reach_prometheus",
    "remaining",
    "render",
    "request_in_flight",
    "reset",
    "scale",
    "scheduling",
    "served_model",
    "served_models",
    "set_resources",
    "show_logs",
    "sizing",
    "smoke_test",
    "startup",
    "vllm_metrics",
    "wait_crashing",
    "wait_endpoints",
    "wait_gone",
    "wait_node_gone",
    "wait_pending",
    "wait_ready",
    "wait_scheduled",
]
