"""Prometheus' HTTP API as DataFrames: targets, rules, instant and range queries, parsing.

Everything here takes Prometheus' URL; how to reach one (the local cluster's, or a
port-forward to ``ai-platform/prometheus-operated`` on EKS) is ``tl.reach_prometheus``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import httpx
import pandas as pd
from tqdm.auto import tqdm

from tutorial_lib import names
from tutorial_lib.errors import PrometheusError

T = TypeVar("T")


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
    """The active scrape targets: job, namespace, pod, health, last error, scrape URL.

    ``scrape_pool`` names the job the Operator made of a ServiceMonitor endpoint:
    ``serviceMonitor/<namespace>/<name>/<index>``.
    """
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
                "scrape_pool": target.get("scrapePool", ""),
                "scrape_interval": target.get("scrapeInterval", ""),
            }
        )
    columns = ["job", "namespace", "pod", "health", "last_error", "scrape_url", "last_scrape"]
    columns += ["scrape_pool", "scrape_interval"]
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


def wait_for_target(
    url: str, namespace: str = names.NAMESPACE, timeout: float = 90, *, interval: str = ""
) -> pd.DataFrame:
    """The namespace's targets once one of them is up (the first scrape may take an interval).

    With ``interval`` (``"5s"``), once one is up *and* scraped that often: a changed
    ServiceMonitor reaches Prometheus only when the Operator has rewritten its configuration.
    """

    def probe() -> pd.DataFrame | None:
        table = targets(url)
        ours = table[table["namespace"] == namespace].reset_index(drop=True)
        up = ours["health"] == "up"
        if interval:
            up &= ours["scrape_interval"] == interval
        return ours if up.any() else None

    every = f" every {interval}" if interval else ""
    return _poll(f"a target in {namespace} up{every}", probe, timeout, f"none is up{every}")


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
    """A range query over the last ``minutes``: columns time, value and the series' labels.

    Prometheus evaluates the query at every ``step``, repeating a series' last sample
    between scrapes; :func:`samples` gives the scrapes themselves.
    """
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


def samples(
    url: str, metrics: Iterable[str], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """What Prometheus stored between ``start`` and ``end``: one row per scrape.

    Columns: ``seconds`` since ``start``, then one per metric (summed over its series). Read
    with a range selector (``metric[40s]``), which returns the raw samples, not a step grid.
    An ``end`` still to come is waited for: the scrape that follows a run is part of it.
    """
    time.sleep(max(0.0, (end - pd.Timestamp.now(tz="UTC")).total_seconds()))
    window = f"{math.ceil((end - start).total_seconds())}s"
    at = {"time": str(end.timestamp())}
    columns: dict[str, pd.Series] = {}
    for metric in metrics:
        found = _get(url, "/api/v1/query", {"query": f"{metric}[{window}]", **at})["result"]
        per_series = [pd.Series({float(t): float(v) for t, v in s["values"]}) for s in found]
        columns[metric] = pd.concat(per_series, axis=1).sum(axis=1) if per_series else pd.Series()
    table = pd.DataFrame(columns).sort_index()
    table.insert(0, "seconds", table.index - start.timestamp())
    return table.reset_index(drop=True)


def syntax_nodes(url: str, promql: str, *kinds: str) -> list[dict]:
    """The nodes of the given ``type``s in Prometheus' own parse tree of ``promql``."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in kinds:
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
    selectors = syntax_nodes(url, promql, "vectorSelector", "matrixSelector")  # x and x[5m]
    return {node["name"] for node in selectors if node.get("name")}
