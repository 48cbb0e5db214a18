"""LoRA as notebook 10 teaches it: the adapter's matrices, the weight count, the A/B routing,
and what the server's log and its one adapter metric say (no cluster here)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.helpers import ROOT
from tutorial_lib.api.adapters import publish_adapters
from tutorial_lib.domain.sizing import ModelSpec
from tutorial_lib.errors import TutorialError
from tutorial_lib.serving import lora, vllm_metrics

STAND_IN = "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_the_adapters_matrices_are_read_from_its_file_and_match_the_model_shapes():
    table = lora.adapter_matrices(ROOT / "adapters" / "tutorial-qa")
    assert list(table["weight"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert set(table["rank"]) == {8} and set(table["layers"]) == {30}
    spec = ModelSpec.preset(STAND_IN)
    assert table["LoRA weights"].sum() == spec.lora_weights(8) == 921_600
    # The full weights it adapts: q and o are hidden x hidden, k and v hidden x KV heads.
    assert table.set_index("weight").loc["q_proj", "full weights"] == 30 * 576 * 576


def test_the_authors_adapter_is_the_27_mb_of_post_6_in_fp32():
    """Rank 8 on q, k, v, o of Mistral-7B (05-lora-training's standard_r8_qkvo)."""
    weights = ModelSpec.preset("TheBloke/Mistral-7B-v0.1-AWQ").lora_weights(8)
    assert weights == 6_815_744
    assert round(weights * 4 / 1e6) == 27


def test_an_adapter_on_every_linear_layer_counts_the_mlp_too():
    spec = ModelSpec.preset(STAND_IN)
    every = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    mlp = 30 * 8 * 3 * (576 + 1536)  # gate and up: hidden -> intermediate; down: back
    assert spec.lora_weights(8, every) == spec.lora_weights(8) + mlp


def test_a_user_always_gets_the_same_variant_and_the_shares_hold_overall():
    split = {"tutorial-qa": 0.8, "tutorial-qa-de": 0.2}
    users = [f"user-{i}" for i in range(2000)]
    first = [lora.variant(user, split) for user in users]
    assert first == [lora.variant(user, split) for user in users]
    share = Counter(first)["tutorial-qa-de"] / len(users)
    assert 0.17 < share < 0.23, share


@pytest.mark.parametrize(
    ("line", "model"),
    [
        (
            "(APIServer pid=1) INFO 12-07 19:37:10 [logger.py:64] Received request "
            "chatcmpl-9f2: params: SamplingParams(n=1, temperature=0.0, max_tokens=24), "
            "lora_request: LoRARequest(lora_name='tutorial-qa-de', lora_int_id=2, "
            "lora_path='/mnt/adapters/tutorial-qa-de', base_model_name=None).",
            "tutorial-qa-de",
        ),
        (
            "(APIServer pid=1) INFO 12-07 19:37:11 [logger.py:64] Received request "
            "cmpl-1a: params: SamplingParams(n=1), lora_request: None.",
            "base",
        ),
    ],
)
def test_the_request_log_names_each_requests_adapter_or_the_base(line, model):
    counted = lora.requests_by_model([line, "INFO Added request chatcmpl-9f2."], base="base")
    assert counted.to_dict() == {model: 1}


def test_the_requests_logged_between_two_counts_leave_out_models_with_none():
    before = pd.Series({"base": 3, "tutorial-qa": 3})
    after = pd.Series({"base": 3, "tutorial-qa": 13, "tutorial-qa-de": 10})
    assert lora.logged_since(before, after).to_dict() == {"tutorial-qa": 10, "tutorial-qa-de": 10}


def test_the_adapter_gauge_names_the_adapters_in_flight():
    exposition = (
        "# HELP vllm:lora_requests_info Running stats on lora requests.\n"
        "# TYPE vllm:lora_requests_info gauge\n"
        'vllm:lora_requests_info{max_lora="2",running_lora_adapters="tutorial-qa-de,tutorial-qa",'
        'waiting_lora_adapters="tutorial-qa-de,tutorial-qa"} 1.7651e+09\n'
        'vllm:lora_requests_info{max_lora="2",running_lora_adapters="",'
        'waiting_lora_adapters=""} 1.7650e+09\n'
    )
    seen = lora.adapters_in_flight(vllm_metrics.parse(exposition))
    assert seen == [
        {"adapters in flight": "tutorial-qa, tutorial-qa-de", "max_lora": "2"},
        {"adapters in flight": "", "max_lora": "2"},
    ]


def test_the_tutorials_adapters_are_refused_for_a_cluster_whose_model_they_do_not_fit():
    """On EKS the served model is Mistral-7B: the stand-in's adapters would crash its start."""
    eks = SimpleNamespace(local=False, context="arn:aws:eks:eu-central-1:1:cluster/llm")
    with pytest.raises(TutorialError) as refused:
        publish_adapters(eks)
    assert "stand-in" in str(refused.value) and "components/lora" in refused.value.hint
