"""vLLM 0.26.0 on a real GPU made to look like the blog's L4: what its logs say of the budget.

The logs are ``fixtures/gpu`` (benchmarks/gpu_memory.py --l4 on an H100, see its README).
The tutorial's parser must read every figure they state, its sizing must predict the KV
cache's tokens from its GiB, and the lesson the notebooks teach must match what vLLM did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import GPU_STARTUP_FIGURES, PASSED_ONLY
from tutorial_lib.domain import sizing
from tutorial_lib.domain.startup import StartupFigures, parse_startup_log

GPU = Path(__file__).parent / "fixtures" / "gpu"
RUNS = json.loads((GPU / "runs.json").read_text())
L4_TOTAL_GIB = 22.05  # the blog's log: "Free memory on device (21.9/22.05 GiB)"
MODEL = sizing.ModelSpec.preset("TheBloke/Mistral-7B-v0.1-AWQ")


def figures(run: dict) -> StartupFigures:
    return parse_startup_log((GPU / run["log"]).read_text())


def started(runner: str) -> list[dict]:
    return [r for r in RUNS if r["runner"] == runner and r["started"]]


def budget(found: StartupFigures) -> float:
    assert found.gpu_memory_utilization and found.total_gpu_memory_gib
    return found.gpu_memory_utilization * found.total_gpu_memory_gib


@pytest.mark.parametrize("run", started("default") + started("v1"), ids=lambda r: r["log"])
def test_every_figure_of_a_start_is_read_and_the_budget_is_the_l4s(run):
    found = figures(run)
    missing = [name for name in GPU_STARTUP_FIGURES if getattr(found, name) is None]
    assert not missing, missing
    assert found.gpu_memory_utilization == run["utilization"]
    assert (found.max_model_len, found.max_num_batched_tokens, found.max_num_seqs) == (
        4096,
        2048,
        256,
    )  # the blog's length and the L4's batch defaults, as the script passed them
    assert budget(found) == pytest.approx(run["wanted"] * L4_TOTAL_GIB, abs=0.01)
    if run["runner"] == "v1":
        assert found.cuda_graph_estimate_gib is not None


@pytest.mark.parametrize("run", started("default") + started("v1"), ids=lambda r: r["log"])
def test_sizing_predicts_the_kv_cache_tokens_within_one_percent(run):
    found = figures(run)
    predicted = sizing.kv_cache_capacity(
        MODEL, found.kv_cache_gib, max_model_len=4096, max_num_batched_tokens=2048
    )
    assert predicted.tokens == pytest.approx(found.kv_cache_tokens, rel=0.01)


@pytest.mark.parametrize("run", started("default"), ids=lambda r: r["log"])
def test_the_default_runner_captures_its_graphs_outside_the_budget(run):
    """The KV cache takes the whole budget left after weights and activations: the graphs,
    captured afterwards, come on top of it, as with the blog's vLLM 0.14."""
    found = figures(run)
    parts = found.weights_gib + found.activation_peak_gib + found.non_torch_gib
    assert found.kv_cache_gib == pytest.approx(budget(found) - parts, abs=0.02)
    assert found.cuda_graph_estimate_gib is None
    assert parts + found.kv_cache_gib + found.cuda_graph_gib > budget(found) + 0.5


@pytest.mark.parametrize("run", started("v1"), ids=lambda r: r["log"])
def test_the_v1_runner_counts_its_graph_estimate_into_the_budget(run):
    found = figures(run)
    parts = found.weights_gib + found.activation_peak_gib + found.non_torch_gib
    estimate = found.cuda_graph_estimate_gib
    assert found.kv_cache_gib == pytest.approx(budget(found) - parts - estimate, abs=0.02)


def test_with_the_default_runner_the_l4_starts_at_095_and_not_at_096():
    outcome = {r["wanted"]: r["started"] for r in RUNS if r["runner"] == "default"}
    assert outcome == {0.88: True, 0.95: True, 0.96: False, 0.97: False, 0.99: False}
    for run in RUNS:
        if not run["started"]:
            assert "torch.OutOfMemoryError: CUDA out of memory" in (GPU / run["log"]).read_text()


@pytest.mark.parametrize(
    ("log", "model_id"),
    [
        ("cluster-h100-smollm2-0.88.log", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("cluster-h100-mistral-awq-layout-0.88.log", "TheBloke/Mistral-7B-v0.1-AWQ"),
    ],
)
def test_the_gpu_tiers_pod_log_is_read_and_its_kv_cache_is_the_budget_left(log, model_id):
    """The GPU tier's runs (tests/gpu, 2026-12-07, the lent H100): the local cluster's pod with
    the blog's args, with the stand-in (overlay local-gpu) and with the blog's model's layout
    in random weights (eks-l4, the blog's manifests unchanged), as ``kubectl logs`` showed it.
    Its default runner sizes the KV cache as the 0.88 budget less weights, activations and
    non-torch memory, and captures its graphs on top, as in the L4 runs above."""
    found = parse_startup_log((GPU / log).read_text())
    wanted = [name for name in GPU_STARTUP_FIGURES if name not in PASSED_ONLY]
    assert [name for name in wanted if getattr(found, name) is None] == []
    assert found.gpu_memory_utilization == 0.88 and found.max_model_len == 4096
    parts = found.weights_gib + found.activation_peak_gib + found.non_torch_gib
    assert found.kv_cache_gib == pytest.approx(budget(found) - parts, abs=0.02)
    model = sizing.ModelSpec.preset(model_id)
    predicted = sizing.kv_cache_capacity(model, found.kv_cache_gib, max_model_len=4096)
    assert predicted.tokens == pytest.approx(found.kv_cache_tokens, rel=0.01)


LORA = GPU / "lora"  # the same L4 mode, with and without --enable-lora, in one call
#: The linear layers vLLM wraps with LoRA slots in a Mistral (Llama) decoder layer: all of them.
WRAPPED = (*sizing.ATTENTION, "gate_proj", "up_proj", "down_proj")


def lora_start(slots: int) -> StartupFigures:
    log = "default-l4-0.88.log" if not slots else f"default-l4-lora{slots}x16-0.88.log"
    return parse_startup_log((LORA / log).read_text())


@pytest.mark.parametrize("slots", [1, 4])
def test_lora_slots_count_as_weights_and_come_out_of_the_kv_cache(slots):
    """Notebook 10's lesson: vLLM allocates ``--max-loras`` slots of ``--max-lora-rank`` in
    every linear layer at load time, in the model's fp16, and sizes the KV cache after them;
    its graphs for LoRA come on top, outside the budget. The logs round to 0.01 GiB."""
    base, lora = lora_start(0), lora_start(slots)
    slot_gib = MODEL.lora_weights(16, WRAPPED) * sizing.dtype_bytes("float16") / sizing.GIB
    grown = lora.weights_gib - base.weights_gib
    assert grown == pytest.approx(slots * slot_gib, abs=0.01)  # 80 MiB a slot
    assert base.kv_cache_gib - lora.kv_cache_gib == pytest.approx(grown, abs=0.015)
    assert lora.kv_cache_tokens < base.kv_cache_tokens
    assert lora.cuda_graph_gib > base.cuda_graph_gib
    assert budget(lora) == pytest.approx(budget(base))
