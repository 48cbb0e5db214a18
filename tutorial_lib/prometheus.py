"""Prometheus: its targets, PromQL into DataFrames, and the tutorial's rules and dashboard.

``manifests/monitoring`` holds the alert rules and the Grafana dashboard; the helpers here
read them, check them with promtool and list the metric names their PromQL uses.

On EKS the Prometheus Operator runs Prometheus in ``ai-platform`` (the blog's namespace for
it) and its Service is ``prometheus-operated``; the local cluster runs one on the host.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pandas as pd
import yaml
from tqdm.auto import tqdm

from tutorial_lib import manifests
from tutorial_lib.errors import TutorialError
from tutorial_lib.kube import Cluster
from tutorial_lib.local import binaries
from tutorial_lib.portforward import PortForward

T = TypeVar("T")

MONITORING = manifests.ROOT / "monitoring"
DASHBOARD = MONITORING / "dashboards" / "vllm.json"
#: What Grafana substitutes before it sends a dashboard query.
GRAFANA_VARIABLES = {"$model_name": ".*", "$__rate_interval": "2m"}

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


def _poll(what: str, probe: Callable[[], T | None], timeout: float, failure: str) -> T:
    """Call ``probe`` every 2 s, with a progress bar, until it returns something."""
    deadline = time.monotonic() + timeout
    with tqdm(desc=f"Waiting for {what}", bar_format="{desc} {elapsed}", leave=False) as bar:
        while (found := probe()) is None:
            if time.monotonic() > deadline:
                raise PrometheusError(f"No {what} after {timeout:.0f} s: {failure}", _HINT)
            time.sleep(2)
            bar.refresh()
    return found


_HINT = "Is the ServiceMonitor applied and the pod Ready? targets() shows last_error."


def wait_for_target(url: str, namespace: str = "ml-models", timeout: float = 90) -> pd.DataFrame:
    """The namespace's targets once one of them is up (the first scrape may take an interval)."""

    def probe() -> pd.DataFrame | None:
        table = targets(url)
        ours = table[table["namespace"] == namespace].reset_index(drop=True)
        return ours if (ours["health"] == "up").any() else None

    return _poll(f"a target in {namespace} to be up", probe, timeout, "none is up")


def wait_for_value(url: str, promql: str, timeout: float = 90) -> pd.DataFrame:
    """The query's result once it has a number (a rate needs two scrapes after the traffic)."""

    def probe() -> pd.DataFrame | None:
        table = query(url, promql)
        return table if not table.empty and table["value"].notna().any() else None

    return _poll("a value from Prometheus", probe, timeout, promql)


def rules(url: str) -> pd.DataFrame:
    """The rules Prometheus has loaded: group, name, type, health, state (of alerts)."""
    rows = [
        {
            "group": group["name"],
            "name": rule["name"],
            "type": rule["type"],
            "health": rule.get("health", ""),
            "state": rule.get("state", ""),
        }
        for group in _get(url, "/api/v1/rules")["groups"]
        for rule in group["rules"]
    ]
    return pd.DataFrame(rows, columns=["group", "name", "type", "health", "state"])


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
def reach(
    cluster: Cluster,
    url: str | None = None,
    *,
    service: str = SERVICE,
    namespace: str = NAMESPACE,
    port: int = PORT,
) -> Iterator[str]:
    """Prometheus' URL: ``url`` if given, the local cluster's, or a port-forward on EKS.

    Raises ``PrometheusError`` with the reason when there is none to reach; errors inside
    the ``with`` block are the caller's and pass through unchanged.
    """
    if url is None and cluster.local:
        from tutorial_lib.local import monitoring  # the local Prometheus, started by `up`

        url = monitoring.url()
    if url is not None:
        if not healthy(url):
            raise PrometheusError(f"No Prometheus answers at {url}.", "Start it, or pass url=.")
        yield url
        return
    tunnel = PortForward(cluster.kubectl, service, port, namespace=namespace, timeout=15)
    try:
        tunnel.__enter__()
    except TutorialError as exc:
        raise PrometheusError(
            f"No Prometheus reachable as {namespace}/{service.removeprefix('svc/')}: {exc}",
            "Install kube-prometheus-stack into ai-platform, or pass url=.",
        ) from exc
    try:
        yield tunnel.url
    finally:
        tunnel.close()


# --- the tutorial's rules and dashboard ----------------------------------------------------


def rule_groups(target: str | Path = MONITORING) -> list[dict]:
    """The rule groups of the PrometheusRules in ``target`` (what the Operator loads)."""
    groups = []
    for obj in manifests.render(target):
        if obj.get("kind") == "PrometheusRule":
            groups += obj["spec"]["groups"]
    return groups


def dashboard_queries(path: str | Path = DASHBOARD) -> pd.DataFrame:
    """Each panel's queries: panel, legend, the PromQL as Grafana sends it."""
    dashboard = json.loads(Path(path).read_text())
    rows = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            legend = target.get("legendFormat", "").replace("{{model_name}}", "").strip()
            rows.append({"panel": panel["title"], "legend": legend, "expr": expr})
    return pd.DataFrame(rows, columns=["panel", "legend", "expr"])


def dashboard_query(panel: str, legend: str, path: str | Path = DASHBOARD) -> str:
    """One panel's query, e.g. ``dashboard_query("Time to first token", "p95")``."""
    table = dashboard_queries(path)
    match = table[(table["panel"] == panel) & (table["legend"] == legend)]
    if match.empty:
        raise PrometheusError(
            f"The dashboard has no query {legend!r} in panel {panel!r}.",
            f"Panels: {', '.join(dict.fromkeys(table['panel']))}",
        )
    return str(match["expr"].iloc[0])


def expressions(target: str | Path = MONITORING) -> list[str]:
    """Every PromQL expression of the rules and the dashboard."""
    rules = [rule["expr"] for group in rule_groups(target) for rule in group["rules"]]
    return rules + list(dashboard_queries()["expr"])


def syntax_nodes(url: str, promql: str, kind: str) -> list[dict]:
    """The nodes of one ``type`` in Prometheus' own parse tree of ``promql``."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == kind:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_get(url, "/api/v1/parse_query", {"query": promql}))
    return found


def metric_names(url: str, promql: str) -> set[str]:
    """The metric names a PromQL expression selects (not grepped: parsed by Prometheus)."""
    selectors = [
        node
        for kind in ("vectorSelector", "matrixSelector")  # x and x[5m]
        for node in syntax_nodes(url, promql, kind)
    ]
    return {node["name"] for node in selectors if node.get("name")}


def check_rules(groups: list[dict]) -> str:
    """``promtool check rules`` on the groups; its report, or PrometheusError with it."""
    promtool = binaries.ensure_binaries(("promtool",))["promtool"]
    with tempfile.TemporaryDirectory(prefix="rules-") as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump({"groups": groups}))
        proc = subprocess.run(
            [str(promtool), "check", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    report = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise PrometheusError(f"promtool rejected the rules:\n{report}", "Fix the PromQL.")
    return report
