"""The KV-cache calculator against vLLM's own numbers, and the planner against the blog."""

import math

import pandas as pd
import pytest

from tutorial_lib.domain.sizing import (
    ModelSpec,
    blocks_per_request,
    compare,
    kv_cache_capacity,
    plan,
)
from tutorial_lib.domain.startup import parse_startup_log
from tutorial_lib.errors import SizingError

SMOL = ModelSpec.preset("HuggingFaceTB/SmolLM2-135M-Instruct")
MISTRAL_AWQ = ModelSpec.preset("TheBloke/Mistral-7B-v0.1-AWQ")


def test_smollm2_one_gib_matches_vllm_cpu_log_exactly():
    # vLLM 0.32 and 0.26 (CPU) with VLLM_CPU_KVCACHE_SPACE=1 printed 46,592 tokens (22.75x at
    # --max-model-len=2048, 11.38x at the manifests' 4096).
    capacity = kv_cache_capacity(SMOL, kv_cache_gib=1, max_model_len=2048)
    assert capacity.tokens == 46_592
    assert round(capacity.max_concurrency, 2) == 22.75


def test_mistral_blog_figure_within_rounding_of_printed_gib():
    # The log prints 15.07 GiB, rounded: any value in [15.065, 15.075) could be behind it.
    low = kv_cache_capacity(MISTRAL_AWQ, 15.065, 4096).tokens
    high = kv_cache_capacity(MISTRAL_AWQ, 15.075, 4096).tokens
    assert low <= 123_472 <= high
    assert abs(kv_cache_capacity(MISTRAL_AWQ, 15.07, 4096).tokens - 123_472) <= high - low


def test_mistral_sliding_window_concurrency_is_the_blogs_30_03():
    capacity = kv_cache_capacity(MISTRAL_AWQ, num_blocks=123_472 // 16, max_model_len=4096)
    assert capacity.blocks_per_request == 257  # 4096/16 + 1 extra block for the window
    assert round(capacity.max_concurrency, 2) == 30.03
    # Without the sliding window the same cache would claim 30.14x.
    full = ModelSpec.preset("meta-llama/Llama-3.1-8B-Instruct")
    assert blocks_per_request(full, 4096) == 256


def test_per_token_bytes_formula():
    assert SMOL.kv_bytes_per_token() == 2 * 30 * 3 * 64 * 2
    assert MISTRAL_AWQ.kv_bytes_per_token() == 2 * 32 * 8 * 128 * 2
    assert MISTRAL_AWQ.kv_bytes_per_token("fp8") == MISTRAL_AWQ.kv_bytes_per_token() // 2
    assert MISTRAL_AWQ.kv_bytes_per_token(tensor_parallel_size=2) == 2 * 32 * 4 * 128 * 2


def test_from_config_reads_hf_fields_and_qwen_window_switch():
    qwen = ModelSpec.preset("Qwen/Qwen2.5-7B-Instruct")
    assert qwen.sliding_window is None  # use_sliding_window: false
    assert qwen.head_dim == 3584 // 28
    spec = ModelSpec.from_config(
        {
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "hidden_size": 256,
            "torch_dtype": "float32",
        }
    )
    assert (spec.num_kv_heads, spec.head_dim, spec.dtype) == (4, 64, "float32")


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(SizingError, match="Mistral") as unknown:
        ModelSpec.preset("no/such-model")
    assert "from_config" in unknown.value.hint


def test_awq_weights_estimate_near_blog_measurement():
    # Measured: 3.96 GiB. fp16 would be about 13.5 GiB ("~14 GB" in the blog).
    assert MISTRAL_AWQ.weights_gib() == pytest.approx(3.96, rel=0.05)
    assert ModelSpec.preset("mistralai/Mistral-7B-v0.1").weights_gib() == pytest.approx(
        13.5, rel=0.02
    )


def test_plan_reproduces_blog_l4_at_0_88():
    budget = plan(MISTRAL_AWQ, "L4", 0.88, 4096)
    assert budget.kv_cache_gib == pytest.approx(15.07, rel=0.02)
    assert math.floor(budget.capacity.max_concurrency) == 30
    assert budget.cuda_graphs_fit
    assert budget.headroom_gib > 2


def test_plan_reproduces_blog_l4_at_0_95_more_slots_but_no_cuda_graphs():
    budget = plan(MISTRAL_AWQ, "L4", 0.95, 4096)
    assert math.floor(budget.capacity.max_concurrency) == 33
    assert budget.headroom_gib == pytest.approx(1.10, abs=0.01)
    assert not budget.cuda_graphs_fit


def test_since_vllm_0_20_the_graphs_come_out_of_the_budget_and_0_95_starts():
    """vLLM 0.14 would fail at capture at 0.95; current vLLM counts the graphs first."""
    old = plan(MISTRAL_AWQ, "L4", 0.95, 4096)
    current = plan(MISTRAL_AWQ, "L4", 0.95, 4096, graphs_in_budget=True)
    assert current.kv_cache_gib == pytest.approx(old.kv_cache_gib - old.cuda_graph_gib)
    assert current.cuda_graphs_fit and not old.cuda_graphs_fit
    assert current.kv_cache_gib > plan(MISTRAL_AWQ, "L4", 0.88, 4096).kv_cache_gib
    frame = current.to_frame().set_index("figure")
    assert "CUDA graphs (inside the budget)" in frame.index


def test_the_budget_is_the_total_cuda_reports_not_the_cards_24_gb():
    """0.88 x 22.05 GiB = 19.40 GiB (vLLM's own log on an L4), not the blog's 0.88 x 24 GB."""
    assert plan(MISTRAL_AWQ, "L4", 0.88, 4096).budget_gib == pytest.approx(19.40, abs=0.01)


def test_plan_reproduces_blog_t4_squeeze():
    budget = plan(MISTRAL_AWQ, "T4", 0.95, 4096)
    assert budget.kv_cache_gib <= 10
    assert 17 <= budget.capacity.max_concurrency <= 21
    assert not budget.cuda_graphs_fit


def test_plan_marks_estimates_and_a_model_that_does_not_fit():
    assert "weights_gib" in plan(MISTRAL_AWQ).estimated
    assert "weights_gib" not in plan(MISTRAL_AWQ, weights_gib=3.96).estimated
    fp16 = ModelSpec.preset("mistralai/Mistral-7B-v0.1")
    assert not plan(fp16, "T4", 0.9, 4096).fits
    frame = plan(MISTRAL_AWQ).to_frame()
    assert frame.set_index("figure").loc["model weights", "estimate"]


def test_compare_measured_against_predicted():
    figures = parse_startup_log(
        "Available KV cache memory: 15.07 GiB\nModel loading took 3.96 GiB memory and 60.55 seconds"
    )
    table = compare(figures, plan(MISTRAL_AWQ, "L4", 0.88, 4096)).set_index("figure")
    assert table.loc["kv_cache_gib", "measured"] == 15.07
    assert abs(table.loc["kv_cache_gib", "difference %"]) < 2
    assert pd.isna(table.loc["kv_cache_tokens", "measured"])
