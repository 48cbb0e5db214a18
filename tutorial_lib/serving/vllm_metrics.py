"""vLLM's Prometheus metrics: read ``/metrics`` into a table, compute histogram quantiles.

Parsed with ``prometheus_client``'s own parser, so the text format's escaping, histograms
and ``_created`` samples are handled as Prometheus handles them. vLLM has renamed several
metrics over time; dashboards and alerts copied from older posts (the blog's
``gpu_cache_usage_perc`` among them) silently show nothing. ``RENAMED`` maps old to new.

curl equivalent: ``curl -s localhost:8000/metrics | grep '^vllm:'``.
"""

from __future__ import annotations

import difflib
import math

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from tutorial_lib.errors import MetricsError

#: Old name -> current name (vLLM V1 engine; checked against vLLM 0.26's /metrics). Not a
#: rename, so not here: ``vllm:cpu_cache_usage_perc`` measured V0's CPU swap space for KV-cache
#: blocks, not the GPU's KV cache; it was deprecated in vLLM 0.8 without a replacement (V1 no
#: longer swaps KV cache to the CPU) and then hidden (vLLM PRs #14136 and #15458).
RENAMED = {
    "vllm:gpu_cache_usage_perc": "vllm:kv_cache_usage_perc",
    "vllm:time_per_output_token_seconds": "vllm:inter_token_latency_seconds",
    "vllm:num_preemptions": "vllm:num_preemptions_total",
}

#: The metrics the tutorial explains, with what they tell an operator.
KEY_METRICS = {
    "vllm:num_requests_running": "requests being generated right now (the batch)",
    "vllm:num_requests_waiting": "requests queued because the KV cache or batch is full",
    "vllm:kv_cache_usage_perc": "share of KV-cache blocks in use (1.0 = full, preemptions next)",
    "vllm:time_to_first_token_seconds": "histogram: wait until the first token (prefill)",
    "vllm:inter_token_latency_seconds": "histogram: time between tokens (decode speed)",
    "vllm:e2e_request_latency_seconds": "histogram: whole request",
    "vllm:prompt_tokens_total": "counter: prompt tokens processed",
    "vllm:generation_tokens_total": "counter: tokens generated",
    "vllm:num_preemptions_total": "counter: requests evicted from the KV cache",
}


def current_name(name: str) -> str:
    """The name vLLM uses today for ``name`` (unchanged when it was never renamed)."""
    return RENAMED.get(name, name)


def parse(text: str) -> pd.DataFrame:
    """Every sample of a Prometheus text exposition: metric, type, sample, labels, value."""
    rows = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            rows.append(
                {
                    "metric": family.name,
                    "type": family.type,
                    "sample": sample.name,
                    "labels": dict(sample.labels),
                    "value": float(sample.value),
                }
            )
    return pd.DataFrame(rows, columns=["metric", "type", "sample", "labels", "value"])


def metrics(url: str, *, prefix: str = "vllm:") -> pd.DataFrame:
    """Scrape ``url`` (``…/metrics`` is appended unless given) like Prometheus would."""
    endpoint = url if url.rstrip("/").endswith("/metrics") else url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(endpoint, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise MetricsError(
            f"Cannot read {endpoint}: {exc}",
            "Is the port-forward open and the pod Ready? (tutorial_lib.port_forward)",
        ) from exc
    table = parse(response.text)
    return table[table["metric"].str.startswith(prefix)].reset_index(drop=True)


def value(table: pd.DataFrame, name: str) -> float:
    """The sum over all label sets of a gauge or counter sample (old names accepted)."""
    name = current_name(name)
    samples = table[table["sample"] == name]
    if samples.empty:
        close = difflib.get_close_matches(name, sorted(set(table["sample"])), n=3)
        raise MetricsError(
            f"No sample {name!r} in the scrape.",
            f"Did you mean {' or '.join(close)}?" if close else "See KEY_METRICS for the names.",
        )
    return float(samples["value"].sum())


def since(after: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """What happened between two scrapes: counters and histograms as their increase.

    Prometheus' ``increase()`` over the window, for one server that did not restart in it;
    gauges keep their value at the later scrape. ``histogram_quantile`` on the result gives
    the quantiles of the window alone.
    """

    def keys(table: pd.DataFrame) -> list[str]:
        return [
            f"{sample}|{sorted(labels.items())}"
            for sample, labels in zip(table["sample"], table["labels"], strict=True)
        ]

    earlier = dict(zip(keys(before), before["value"], strict=True))
    window = after.copy()
    grows = window["type"].isin(["counter", "histogram"])
    window.loc[grows, "value"] = [
        value - earlier.get(key, 0.0)
        for key, value, cumulative in zip(keys(after), after["value"], grows, strict=True)
        if cumulative
    ]
    return window


def histogram_quantile(table: pd.DataFrame, name: str, q: float) -> float:
    """Prometheus' ``histogram_quantile`` on one scrape (buckets summed over label sets).

    Linear interpolation inside the bucket, as Prometheus does; NaN without observations.
    """
    name = current_name(name)
    buckets = table[table["sample"] == f"{name}_bucket"]
    if buckets.empty:
        raise MetricsError(
            f"No histogram {name!r} in the scrape.", "Check the name in KEY_METRICS."
        )
    bounds: dict[float, float] = {}
    for labels, count in zip(buckets["labels"], buckets["value"], strict=True):
        upper = float(labels["le"])
        bounds[upper] = bounds.get(upper, 0.0) + count
    edges = sorted(bounds)
    total = bounds[edges[-1]]
    if total == 0:
        return math.nan
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge in edges:
        if bounds[edge] >= rank:
            if math.isinf(edge):
                return lower_edge  # as Prometheus: the highest finite bound
            width = bounds[edge] - lower_count
            fraction = (rank - lower_count) / width if width else 0.0
            return lower_edge + (edge - lower_edge) * fraction
        lower_edge, lower_count = edge, bounds[edge]
    return lower_edge


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The key metrics of one scrape: gauges and counters as values, histograms as p50/p95."""
    rows = []
    for name, meaning in KEY_METRICS.items():
        kind = table.loc[table["metric"] == _family(name), "type"]
        if kind.empty:
            continue
        if kind.iloc[0] == "histogram":
            p50, p95 = (histogram_quantile(table, name, q) for q in (0.5, 0.95))
            shown = f"p50 {p50:.3f} s, p95 {p95:.3f} s" if not math.isnan(p50) else "no requests"
        else:
            shown = f"{value(table, name):g}"
        rows.append({"metric": name, "value": shown, "meaning": meaning})
    return pd.DataFrame(rows, columns=["metric", "value", "meaning"])


def _family(name: str) -> str:
    """prometheus_client names a counter's family without ``_total``."""
    return name.removesuffix("_total")
