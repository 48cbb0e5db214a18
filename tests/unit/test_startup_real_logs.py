"""vLLM startup logs as people posted them, vLLM 0.5 to 0.2x: every stated figure is read.

``fixtures/real/`` holds excerpts copied line for line from public GitHub threads, each file
naming its thread, vLLM version (stated or inferred from the format), device and tensor
parallelism; ``fixtures/real/README.md`` lists what a person reads in each. The expected
values below are that reading, not the parser's output: a figure the parser misses or
invents fails the test. Where ranks repeat a figure, the first one printed is expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_lib.domain.startup import parse_startup_log

REAL = Path(__file__).parent / "fixtures" / "real"
MARKER = "# --- verbatim excerpt below ---\n"

STATED = {
    # V0 engine, 0.5 and 0.6: weights in "GB", block counts
    "01": {"weights_gib": 6.1138, "gpu_blocks": 10039, "cpu_blocks": 1310},
    "02": {"weights_gib": 7.5122, "gpu_blocks": 61913, "cpu_blocks": 4096},
    "03": {"weights_gib": 12.5523, "cuda_graph_seconds": 14, "gpu_blocks": 4109, "cpu_blocks": 512},
    "04": {
        "weights_gib": 1.9028,
        "gpu_blocks": 464716,
        "cpu_blocks": 16384,
        "max_concurrency": 56.73,
        "max_concurrency_tokens": 131072,
    },
    # The "Memory profiling results" line, space-separated, in a refusal to start
    "05": {
        "weights_gib": 14.9888,
        "total_gpu_memory_gib": 23.58,
        "gpu_memory_utilization": 0.90,
        "kv_cache_gib": 2.89,
        "kv_cache_tokens": 23648,
        "gpu_blocks": 1478,
        "cpu_blocks": 2048,
        "max_concurrency": 0.82,
        "max_concurrency_tokens": 29000,
    },
    # ... comma-separated, two ranks
    "06": {
        "weights_gib": 18.4902,
        "total_gpu_memory_gib": 79.15,
        "gpu_memory_utilization": 0.90,
        "kv_cache_gib": 34.96,
        "gpu_blocks": 189945,
        "cpu_blocks": 21845,
        "max_concurrency": 2967.89,
        "max_concurrency_tokens": 1024,
    },
    # ... as a multi-line table
    "07": {
        "total_gpu_memory_gib": 79.22,
        "gpu_memory_utilization": 0.90,
        "weights_gib": 14.96,
        "kv_cache_gib": 53.29,
    },
    # 0.7 and 0.8: "the current vLLM instance can use ...", "# CUDA blocks", "# cuda blocks"
    "08": {
        "weights_gib": 30.7098,
        "total_gpu_memory_gib": 44.42,
        "gpu_memory_utilization": 0.90,
        "kv_cache_gib": 7.71,
        "gpu_blocks": 3947,
        "cpu_blocks": 2048,
    },
    "09": {
        "weights_gib": 0.4678,
        "weights_load_seconds": 0.56,
        "model_load_seconds": 114.953146,
        "total_gpu_memory_gib": 16.00,
        "gpu_memory_utilization": 0.90,
        "kv_cache_gib": 13.40,
        "gpu_blocks": 12200,
        "cpu_blocks": 3640,
        "max_concurrency": 95.31,
        "max_concurrency_tokens": 2048,
    },
    "10": {
        "weights_gib": 21.21,
        "total_gpu_memory_gib": 23.58,
        "gpu_memory_utilization": 0.99,
        "kv_cache_gib": 1.57,
    },
    "11": {
        "weights_gib": 5.2032,
        "total_gpu_memory_gib": 8.00,
        "gpu_memory_utilization": 0.70,
        "kv_cache_gib": -1.05,
        "gpu_blocks": 0,
        "cpu_blocks": 4681,
        "max_concurrency": 0.00,
        "max_concurrency_tokens": 4096,
    },
    # V1 engine, from its first releases to the CUDA-graph estimate (0.18) and its default
    "12": {
        "weights_gib": 67.7229,
        "gpu_blocks": 1381,
        "max_concurrency": 10.79,
        "max_concurrency_tokens": 2048,
    },
    "13": {"weights_gib": 51.1453, "weights_load_seconds": 59.74, "model_load_seconds": 61.854495},
    "14": {
        "gpu_blocks": 70688,
        "kv_cache_tokens": 1131008,
        "max_concurrency": 8.63,
        "max_concurrency_tokens": 131072,
        "cuda_graph_gib": 0.45,
        "cuda_graph_seconds": 37,
    },
    "15": {
        "kv_cache_gib": 2.30,
        "kv_cache_tokens": 75840,
        "max_concurrency": 2.48,
        "max_concurrency_tokens": 120000,
    },
    "16": {
        "cuda_graph_estimate_gib": 0.26,
        "kv_cache_gib": 17.36,
        "gpu_memory_utilization": 0.70,
        "kv_cache_tokens": 188640,
        "max_concurrency": 5.23,
        "max_concurrency_tokens": 131072,
    },
    "17": {"cuda_graph_estimate_gib": 4.30, "gpu_memory_utilization": 0.90, "kv_cache_gib": 25.46},
    "18": {"cuda_graph_estimate_gib": 0.36, "gpu_memory_utilization": 0.82, "kv_cache_gib": 6.87},
    # The CPU backend refusing to start
    "19": {"kv_cache_gib": 4.00},
}
#: The logs in which vLLM did not start: the parser says why, with the fix.
REFUSED = {"05": "--max-model-len 29000", "11": "-1.05 GiB", "19": "needs 4.38 GiB"}


def excerpt(number: str) -> tuple[str, str]:
    [path] = REAL.glob(f"{number}_*.log")
    header, body = path.read_text().split(MARKER, 1)
    return header, body


@pytest.mark.parametrize("number", sorted(STATED))
def test_every_stated_figure_is_read_and_nothing_else(number):
    figures = parse_startup_log(excerpt(number)[1])
    assert figures.found() == pytest.approx(STATED[number])


@pytest.mark.parametrize("number", sorted(STATED))
def test_a_refusal_to_start_is_a_warning_with_the_fix(number):
    warnings = parse_startup_log(excerpt(number)[1]).warnings
    if number in REFUSED:
        assert len(warnings) == 1 and REFUSED[number] in warnings[0]
        assert "--gpu-memory-utilization" in warnings[0]
    else:
        assert warnings == []


def test_each_excerpt_names_the_thread_it_was_copied_from():
    files = sorted(REAL.glob("*.log"))
    assert len(files) == len(STATED)
    for path in files:
        header = path.read_text().split(MARKER, 1)[0]
        assert "# source: https://github.com/" in header, path.name
