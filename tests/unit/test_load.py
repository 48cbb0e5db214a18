"""The load lab's arithmetic: the sweep's table, vLLM's benchmark output, scrape windows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tutorial_lib.serving import bench, vllm_metrics
from tutorial_lib.serving.load import Result, summary

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_level_is_summarised_as_a_capacity_planner_reads_it():
    results = [
        Result(4, time_to_first_token=0.1, end_to_end=1.1, output_tokens=11),
        Result(4, time_to_first_token=0.3, end_to_end=2.3, output_tokens=11),
        Result(4, time_to_first_token=2.0, end_to_end=2.0, output_tokens=0, error="timeout"),
    ]
    row = summary(results, wall_seconds=4.0)
    assert (row["concurrency"], row["requests"], row["errors"]) == (4, 3, 1)
    assert row["output tokens"] == 22 and row["output tokens/s"] == pytest.approx(5.5)
    assert row["requests/s"] == pytest.approx(0.5), "failed requests do not count as served"
    assert row["TTFT p50 s"] == pytest.approx(0.2)
    assert row["ITL mean s"] == pytest.approx((0.1 + 0.2) / 2), "(e2e - ttft) / (tokens - 1)"


def test_tokens_per_step_count_the_batch_whatever_the_machines_speed():
    """Four requests of 11 tokens decoding together, on a machine and on one twice as slow."""

    def level(slowdown: float) -> dict[str, float | int]:
        results = [Result(4, 0.1 * slowdown, 1.1 * slowdown, 11) for _ in range(4)]
        return summary(results, wall_seconds=1.1 * slowdown)

    fast, slow = level(1.0), level(2.0)
    assert slow["output tokens/s"] == pytest.approx(fast["output tokens/s"] / 2)
    assert fast["tokens per step"] == pytest.approx(slow["tokens per step"])
    assert fast["tokens per step"] == pytest.approx(4.0, rel=0.1), "the four requests"


def test_one_token_has_no_inter_token_latency():
    assert Result(1, 0.2, 0.2, 1).inter_token is None


def test_vllm_bench_serve_output_is_read_row_by_row():
    result = bench.parse((FIXTURES / "vllm-0.26-bench-serve.txt").read_text())
    assert result["Successful requests"] == 16 and result["Failed requests"] == 0
    assert result["Output token throughput (tok/s)"] == 111.02
    assert result["Median TTFT (ms)"] == 124.62 and result["Mean ITL (ms)"] == 33.39
    assert bench.parse("no table here") == {}


def test_the_benchmark_asks_for_the_sweeps_load():
    options = bench.arguments("m", concurrency=4, num_prompts=16, input_len=16, output_len=32)

    def after(flag: str) -> str:
        return options[options.index(flag) + 1]

    assert "--ignore-eos" in options and after("--max-concurrency") == "4"
    assert after("--num-warmups") == "4", "warm-ups, not counted: 0.26 is slow on its first"
    assert after("--random-output-len") == "32" and after("--num-prompts") == "16"


def scrape(counter: float, buckets: dict[str, float], gauge: float) -> pd.DataFrame:
    rows = [("c", "counter", "vllm:generation_tokens_total", {}, counter)]
    rows += [("g", "gauge", "vllm:num_requests_running", {}, gauge)]
    rows += [
        ("h", "histogram", "vllm:e2e_request_latency_seconds_bucket", {"le": le}, n)
        for le, n in buckets.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "type", "sample", "labels", "value"])


def test_a_window_between_two_scrapes_holds_only_what_happened_in_it():
    before = scrape(100, {"1.0": 10, "+Inf": 10}, gauge=3)
    after = scrape(130, {"1.0": 10, "+Inf": 20}, gauge=0)
    window = vllm_metrics.since(after, before)
    assert vllm_metrics.value(window, "vllm:generation_tokens_total") == 30
    assert vllm_metrics.value(window, "vllm:num_requests_running") == 0, "a gauge is as it is"
    # the ten requests of the window all took more than a second
    assert vllm_metrics.histogram_quantile(window, "vllm:e2e_request_latency_seconds", 0.5) == 1
    assert vllm_metrics.histogram_quantile(before, "vllm:e2e_request_latency_seconds", 0.5) < 1
