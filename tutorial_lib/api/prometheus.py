"""Reach the cluster's Prometheus from the notebook, wherever it runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tutorial_lib import names
from tutorial_lib.errors import PortForwardError, PrometheusError
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.portforward import port_forward
from tutorial_lib.serving.promql import healthy


@contextlib.contextmanager
def reach_prometheus(
    cluster: Connection,
    url: str | None = None,
    *,
    service: str = names.PROMETHEUS_SERVICE,
    namespace: str = names.PROMETHEUS_NAMESPACE,
    port: int = names.PROMETHEUS_PORT,
) -> Iterator[str]:
    """Prometheus' URL: ``url`` if given, the local cluster's, or a port-forward on EKS.

    Raises ``PrometheusError`` with the reason when there is none to reach; errors inside
    the ``with`` block are the caller's and pass through unchanged.

    kubectl equivalent: ``kubectl port-forward -n ai-platform svc/prometheus-operated 9090``.
    """
    url = url or cluster.prometheus_url
    if url is not None:
        if not healthy(url):
            raise PrometheusError(
                f"No Prometheus answers at {url}.",
                "Locally: python -m tutorial_lib.local status (and up to repair); "
                "elsewhere pass url=.",
            )
        yield url
        return
    tunnel = port_forward(cluster, f"svc/{service}", port, namespace=namespace, timeout=15)
    try:
        tunnel.__enter__()
    except PortForwardError as exc:
        raise PrometheusError(
            f"No Prometheus reachable as {namespace}/{service}: {exc.message}",
            f"Install kube-prometheus-stack into {namespace}, or pass url=.",
        ) from exc
    try:
        yield tunnel.url
    finally:
        tunnel.close()
