"""The names the tutorial's manifests give things: the one place they are written down.

Every helper takes them as parameters with these defaults (or the connection's
``namespace``), so the same code serves another namespace, e.g. one per workshop attendee.
"""

from __future__ import annotations

#: The blog's namespace for the model server.
NAMESPACE = "ml-models"
#: The Deployment, its pods' ``app`` label, and the Service in front of it.
DEPLOYMENT = "vllm"
SERVICE = "vllm-service"
#: vLLM's OpenAI-compatible API (and ``/metrics``) inside the pod and on the Service.
HTTP_PORT = 8000
#: Where kube-prometheus-stack runs Prometheus in the blog's cluster.
PROMETHEUS_NAMESPACE = "ai-platform"
PROMETHEUS_SERVICE = "prometheus-operated"
PROMETHEUS_PORT = 9090
#: The field manager of everything the library applies or patches.
FIELD_MANAGER = "vllm-tutorial"
#: kube-prometheus-stack's Helm release name. Its Prometheus selects only ServiceMonitors and
#: PrometheusRules labelled ``release: <release name>`` (the chart's defaults
#: ``serviceMonitorSelectorNilUsesHelmValues`` and ``ruleSelectorNilUsesHelmValues``); the
#: component ``manifests/components/prometheus-release`` sets that label on ours, and the
#: local Prometheus selects by it too. Change both together (a unit test compares them).
PROMETHEUS_RELEASE = "kube-prometheus-stack"
#: The label key of that selection.
PROMETHEUS_RELEASE_LABEL = "release"
#: The Prometheus Operator's API group and version (ServiceMonitor, PrometheusRule, Prometheus).
MONITORING_GROUP, MONITORING_VERSION = "monitoring.coreos.com", "v1"
#: Karpenter's API: NodePools (the GPU node group) and the NodeClaims it launches.
KARPENTER_GROUP, KARPENTER_VERSION = "karpenter.sh", "v1"
#: The label by which an EndpointSlice names its Service.
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: The custom resources the tutorial's monitoring needs (the Prometheus Operator's CRDs).
SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com"
PROMETHEUS_RULE_CRD = "prometheusrules.monitoring.coreos.com"
#: The extended resource the NVIDIA device plugin advertises on a GPU node.
GPU_RESOURCE = "nvidia.com/gpu"
#: Where ``tl.smoke_test`` leaves its last verdict: an annotation of the Deployment.
SMOKE_TEST_ANNOTATION = "vllm-tutorial/last-smoke-test"
