"""The blog's LoRA adapter as benchmarks/gpu_memory.py writes it for the GPU measurement.

Post 6 serves a PEFT adapter of rank 8 and alpha 16 on Mistral-7B's q/k/v/o_proj, "27MB auf
Disk". The random stand-in must have the names and shapes PEFT writes and vLLM's loader
parses, and exactly the author's weight count, or the GPU figures measure another adapter.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import re
import struct
import sys
from array import array
from pathlib import Path

import pytest

from tests.helpers import ROOT

SPEC = importlib.util.spec_from_file_location("gpu_memory", ROOT / "benchmarks" / "gpu_memory.py")
assert SPEC is not None and SPEC.loader is not None
gpu_memory = importlib.util.module_from_spec(SPEC)
sys.modules["gpu_memory"] = gpu_memory  # its dataclass looks its module up
SPEC.loader.exec_module(gpu_memory)

CONFIG = gpu_memory.MISTRAL_AWQ_CONFIG
#: vLLM's parse_fine_tuned_lora_name: PEFT's prefix, the module, lora_A or lora_B.
PEFT_NAME = re.compile(
    r"^base_model\.model\.model\.layers\.(\d+)\.self_attn\.([qkvo])_proj\.lora_([AB])\.weight$"
)


def header(path: Path) -> tuple[int, dict]:
    """A safetensors file's header length and JSON header."""
    with path.open("rb") as data:
        (length,) = struct.unpack("<Q", data.read(8))
        return length, json.loads(data.read(length))


def test_every_tensor_has_peft_s_name_and_the_shape_of_its_projection():
    shapes = gpu_memory.adapter_shapes(CONFIG)
    assert len(shapes) == 32 * 4 * 2
    out = {"q": 4096, "k": 1024, "v": 1024, "o": 4096}  # 32 heads, 8 KV heads of 128
    for name, shape in shapes.items():
        found = PEFT_NAME.match(name)
        assert found, name
        layer, module, which = found.groups()
        assert 0 <= int(layer) < 32
        assert shape == ((8, 4096) if which == "A" else (out[module], 8)), name


def test_rank_8_is_the_authors_6_815_744_weights_27_mb_in_fp32():
    weights = sum(math.prod(shape) for shape in gpu_memory.adapter_shapes(CONFIG).values())
    assert weights == 6_815_744
    assert weights * 4 / 1e6 == pytest.approx(27.3, abs=0.05)  # post 6: "27MB auf Disk"
    assert sum(math.prod(s) for s in gpu_memory.adapter_shapes(CONFIG, rank=16).values()) == (
        2 * weights
    )


def test_the_written_adapter_is_peft_s_files_in_fp32_as_vllm_reads_them(tmp_path):
    folder = gpu_memory.write_adapter(tmp_path / "aws-rag-qa")
    config = json.loads((folder / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["peft_type"]) == (8, 16, "LORA")
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == "TheBloke/Mistral-7B-v0.1-AWQ"
    assert config["task_type"] == "CAUSAL_LM"
    assert config["r"] <= gpu_memory.VLLM_MAX_LORA_RANK  # else vLLM refuses it by default

    weights = folder / "adapter_model.safetensors"
    length, tensors = header(weights)
    assert length % 8 == 0
    assert tensors.pop("__metadata__") == {"format": "pt"}
    assert {name: tuple(t["shape"]) for name, t in tensors.items()} == (
        gpu_memory.adapter_shapes(CONFIG)
    )
    assert {t["dtype"] for t in tensors.values()} == {"F32"}
    offsets = sorted(tuple(t["data_offsets"]) for t in tensors.values())
    assert offsets[0][0] == 0
    assert all(end == begin for (_, end), (begin, _) in itertools.pairwise(offsets))
    assert weights.stat().st_size == 8 + length + 6_815_744 * 4
    with weights.open("rb") as data:
        data.seek(8 + length)
        first = array("f", data.read(4 * 4096))
    if sys.byteorder == "big":
        first.byteswap()
    assert all(math.isfinite(x) and abs(x) < 0.1 for x in first)
    assert len(set(first)) > 4000  # noise, not a constant


def test_lora_adds_the_blogs_args_and_records_the_settings_in_effect():
    default = gpu_memory.Lora(Path("/a"))
    assert default.args() == ["--enable-lora", "--lora-modules", "aws-rag-qa=/a"]
    assert default.settings() == {
        "adapter": "aws-rag-qa",
        "rank": 8,
        "max_loras": 1,
        "max_lora_rank": 16,
    }
    four = gpu_memory.Lora(Path("/a"), max_loras=4)
    assert four.args()[-1] == "--max-loras=4"
    assert (default.tag(), four.tag()) == ("lora1x16-", "lora4x16-")
    assert gpu_memory.lora_cell(four.settings()) == "4 x 16 (aws-rag-qa, rank 8)"
    assert (gpu_memory.lora_cell(None), gpu_memory.lora_slots({"lora": None})) == ("none", 0)
    assert gpu_memory.lora_slots({}) == 0  # runs.json from before the option


def test_vllm_s_lines_about_lora_are_kept_and_cut():
    log = "INFO a\nINFO Using LoRA punica.\nconfig: " + "x" * 500 + " enable_lora=True\n"
    assert gpu_memory.lora_lines(log, width=30) == [
        "INFO Using LoRA punica.",
        "config: " + "x" * 22,
    ]
