"""Reading vLLM's /metrics: a scrape recorded from the local vLLM 0.26 and hand-made histograms."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tutorial_lib.errors import MetricsError
from tutorial_lib.serving import vllm_metrics

SCRAPE = (Path(__file__).parent / "fixtures" / "vllm-0.26-cpu-metrics.txt").read_text()


def histogram(buckets: dict[str, int]) -> str:
    lines = ["# TYPE demo_seconds histogram"]
    lines += [f'demo_seconds_bucket{{le="{le}"}} {count}' for le, count in buckets.items()]
    total = list(buckets.values())[-1]
    lines += [f"demo_seconds_count {total}", "demo_seconds_sum 1.0"]
    return "\n".join(lines) + "\n"


def test_every_key_metric_exists_in_a_real_scrape():
    table = vllm_metrics.parse(SCRAPE)
    samples = set(table["sample"])
    assert vllm_metrics.KEY_METRICS
    for name in vllm_metrics.KEY_METRICS:
        assert name in samples or f"{name}_bucket" in samples, name


def test_renamed_metrics_point_at_names_vllm_exposes_and_the_old_ones_are_gone():
    samples = set(vllm_metrics.parse(SCRAPE)["sample"])
    assert "vllm:gpu_cache_usage_perc" in vllm_metrics.RENAMED  # the blog's name
    assert "vllm:cpu_cache_usage_perc" not in vllm_metrics.RENAMED  # removed, not renamed
    for old, new in vllm_metrics.RENAMED.items():
        assert old not in samples and f"{old}_bucket" not in samples, old
        assert new in samples or f"{new}_bucket" in samples, new


def test_value_accepts_the_blogs_old_name():
    table = vllm_metrics.parse(
        "# TYPE vllm:kv_cache_usage_perc gauge\n"
        'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.42\n'
    )
    assert vllm_metrics.value(table, "vllm:gpu_cache_usage_perc") == 0.42


def test_a_misspelt_metric_suggests_the_real_name():
    with pytest.raises(MetricsError, match="Did you mean vllm:num_requests_running"):
        vllm_metrics.value(vllm_metrics.parse(SCRAPE), "vllm:num_request_running")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 1.0 + 5 / 8 * (2.0 - 1.0)),  # rank 5 of the 8 observations in (1, 2]
        (0.25, 1.0 + 2.5 / 8 * (2.0 - 1.0)),
        (0.9, 2.0 + (9 - 8) / (10 - 8) * (4.0 - 2.0)),  # inside (2, 4]
    ],
)
def test_histogram_quantile_interpolates_like_prometheus(q, expected):
    table = vllm_metrics.parse(histogram({"1.0": 0, "2.0": 8, "4.0": 10, "+Inf": 10}))
    assert vllm_metrics.histogram_quantile(table, "demo_seconds", q) == pytest.approx(expected)


def test_histogram_quantile_in_the_inf_bucket_is_the_highest_finite_bound():
    table = vllm_metrics.parse(histogram({"1.0": 1, "2.0": 2, "+Inf": 10}))
    assert vllm_metrics.histogram_quantile(table, "demo_seconds", 0.9) == 2.0


def test_histogram_without_observations_is_nan():
    table = vllm_metrics.parse(histogram({"1.0": 0, "+Inf": 0}))
    assert math.isnan(vllm_metrics.histogram_quantile(table, "demo_seconds", 0.5))


def test_summary_reads_the_recorded_scrape():
    summary = vllm_metrics.summary(vllm_metrics.parse(SCRAPE)).set_index("metric")
    assert summary.loc["vllm:generation_tokens_total", "value"] == "560"  # 3 chats, 16 x 32
    assert summary.loc["vllm:time_to_first_token_seconds", "value"].startswith("p50 ")
