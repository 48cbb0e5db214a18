"""Load on the real local vLLM: the sweep succeeds, and vLLM's own benchmark agrees with it."""

from __future__ import annotations

import pytest

import tutorial_lib as tl


@pytest.mark.alone  # two throughputs measured one after the other (tests/lanes.py)
def test_the_sweep_and_vllm_bench_serve_agree_on_the_same_load(serving):
    with tl.port_forward(serving) as tunnel:
        model = tl.served_model(tunnel.url)
        sweep = tl.load.sweep(tunnel.url, levels=(1, 4), requests_per_level=16, output_tokens=32)
        official = tl.bench_serve(
            serving, tunnel.url, model, concurrency=4, num_prompts=16, output_len=32
        )
    assert (sweep["errors"] == 0).all() and official["Failed requests"] == 0
    assert (sweep["output tokens"] == 16 * 32).all(), "ignore_eos: every answer 32 tokens"
    ours = sweep.set_index("concurrency").loc[4, "output tokens/s"]
    theirs = official["Output token throughput (tok/s)"]
    assert abs(ours / theirs - 1) < 0.35, f"sweep {ours:.0f} tok/s, vllm bench {theirs:.0f}"
    assert sweep["gain"].iloc[-1] > 1.5, "four requests at once should beat one at a time"
