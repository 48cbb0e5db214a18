"""Ask Prometheus what it scrapes and query it with PromQL, into DataFrames.

On EKS the Prometheus Operator runs Prometheus in ``ai-platform`` (the blog's namespace for
it) and its Service is ``prometheus-operated``; the local cluster runs one on the host.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pandas as pd

from tutorial_lib.errors import TutorialError
from tutorial_lib.kube import Cluster
from tutorial_lib.portforward import PortForward

NAMESPACE = "ai-platform"
SERVICE = "svc/prometheus-operated"
PORT = 9090


class PrometheusError(TutorialError):
    """Prometheus could not be reached or refused a query."""


def _get(url: str, path: str, params: dict[str, str] | None = None) -> dict:
    try:
        response = httpx.get(url.rstrip("/") + path, params=params, timeout=15)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PrometheusError(
            f"Prometheus at {url} did not answer {path}: {exc}",
            "Is it running? Locally: python -m tutorial_lib.local status",
        ) from exc
    if body.get("status") != "success":
        raise PrometheusError(
            f"Prometheus refused {params or path}: {body.get('error', body)}",
            "Check the PromQL in the Prometheus UI's expression browser.",
        )
    return body["data"]


def healthy(url: str) -> bool:
    try:
        return httpx.get(url.rstrip("/") + "/-/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def targets(url: str) -> pd.DataFrame:
    """The active scrape targets: job, namespace, pod, health, last error, scrape URL."""
    rows = []
    for target in _get(url, "/api/v1/targets", {"state": "active"})["activeTargets"]:
        labels = target.get("labels", {})
        rows.append(
            {
                "job": labels.get("job", target.get("scrapePool", "")),
                "namespace": labels.get("namespace", ""),
                "pod": labels.get("pod", ""),
                "health": target["health"],
                "last_error": target.get("lastError", ""),
                "scrape_url": target["scrapeUrl"],
                "last_scrape": target.get("lastScrape", ""),
            }
        )
    columns = ["job", "namespace", "pod", "health", "last_error", "scrape_url", "last_scrape"]
    return pd.DataFrame(rows, columns=columns)


def query(url: str, promql: str) -> pd.DataFrame:
    """An instant query: one row per series, its labels as columns and ``value``."""
    data = _get(url, "/api/v1/query", {"query": promql})
    if data["resultType"] == "scalar":
        return pd.DataFrame([{"value": float(data["result"][1])}])
    rows = [{**s["metric"], "value": float(s["value"][1])} for s in data["result"]]
    return pd.DataFrame(rows)


def query_range(url: str, promql: str, *, minutes: float = 10, step: str = "15s") -> pd.DataFrame:
    """A range query over the last ``minutes``: columns time, value and the series' labels."""
    now = pd.Timestamp.now(tz="UTC")
    params = {
        "query": promql,
        "start": str((now - pd.Timedelta(minutes=minutes)).timestamp()),
        "end": str(now.timestamp()),
        "step": step,
    }
    rows = []
    for series in _get(url, "/api/v1/query_range", params)["result"]:
        for stamp, value in series["values"]:
            rows.append(
                {**series["metric"], "time": pd.Timestamp(stamp, unit="s"), "value": float(value)}
            )
    return pd.DataFrame(rows)


@contextlib.contextmanager
def reach(cluster: Cluster, url: str | None = None) -> Iterator[str]:
    """Prometheus' URL: ``url`` if given, the local cluster's, or a port-forward on EKS.

    Raises ``PrometheusError`` with the reason when there is none to reach.
    """
    if url is None and cluster.local:
        from tutorial_lib.local import monitoring  # the local Prometheus, started by `up`

        url = monitoring.url()
    if url is not None:
        if not healthy(url):
            raise PrometheusError(f"No Prometheus answers at {url}.", "Start it, or pass url=.")
        yield url
        return
    tunnel = PortForward(cluster.kubectl, SERVICE, PORT, namespace=NAMESPACE, timeout=15)
    try:
        tunnel.__enter__()
    except TutorialError as exc:
        raise PrometheusError(
            f"No Prometheus reachable as {NAMESPACE}/{SERVICE.removeprefix('svc/')}: {exc}",
            "Install kube-prometheus-stack into ai-platform, or pass url=.",
        ) from exc
    with tunnel:
        yield tunnel.url
