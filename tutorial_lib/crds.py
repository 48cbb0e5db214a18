"""The custom resources the tutorial reads and writes: the Prometheus Operator's and kwok's."""

from __future__ import annotations

from lightkube.generic_resource import create_namespaced_resource

ServiceMonitor = create_namespaced_resource(
    "monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"
)
PrometheusRule = create_namespaced_resource(
    "monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"
)
#: kwok serves ``kubectl logs`` and ``kubectl port-forward`` of a simulated pod from these.
Logs = create_namespaced_resource("kwok.x-k8s.io", "v1alpha1", "Logs", "logs")
PortForward = create_namespaced_resource("kwok.x-k8s.io", "v1alpha1", "PortForward", "portforwards")
