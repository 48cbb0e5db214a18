"""Size a GPU for a model before deploying it: weights, KV cache, concurrency, headroom.

The KV-cache arithmetic is exact, the same integer arithmetic vLLM V1 does:

* a block holds ``block_size`` tokens; one layer's block takes
  ``block_size x 2 (K and V) x kv_heads x head_dim x dtype bytes``;
* ``blocks = floor(kv_cache_bytes / (block bytes x layers))``, ``tokens = blocks x block_size``;
* a request needs ``ceil(max_model_len / block_size)`` blocks; with sliding-window
  attention vLLM reserves ``ceil(min(window - 1 + batched tokens, max_model_len) / block_size)
  + 1`` blocks, which is why the blog's Mistral-7B shows 30.03x and not 30.14x.

The rest of the budget (weights, activations, CUDA graphs) is an *estimate*, calibrated on the
blog's L4 log; ``plan`` says so in every figure it estimates.

>>> spec = ModelSpec.preset("HuggingFaceTB/SmolLM2-135M-Instruct")
>>> kv_cache_capacity(spec, kv_cache_gib=1, max_model_len=2048).tokens
46592
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tutorial_lib.errors import SizingError

GIB = 1024**3
#: The attention projections: what the series' adapters and the tutorial's adapt.
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")

_DTYPE_BYTES = {
    "float32": 4,
    "float": 4,
    "fp32": 4,
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "fp16": 2,
    "bf16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "int8": 1,
}


def dtype_bytes(dtype: str) -> int:
    try:
        return _DTYPE_BYTES[dtype.lower().removeprefix("torch.")]
    except KeyError as exc:
        raise SizingError(
            f"Unknown dtype {dtype!r}.", f"Use one of {', '.join(sorted(_DTYPE_BYTES))}."
        ) from exc


@dataclass(frozen=True)
class ModelSpec:
    """The numbers of a model that decide its memory: from its Hugging Face ``config.json``."""

    name: str
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    dtype: str = "bfloat16"
    sliding_window: int | None = None
    tie_word_embeddings: bool = False
    quantization_bits: int | None = None
    quantization_group_size: int = 128

    @classmethod
    def from_config(cls, config: dict[str, Any], name: str = "") -> ModelSpec:
        """Read a Hugging Face ``config.json`` (as a dict)."""
        heads = int(config["num_attention_heads"])
        hidden = int(config["hidden_size"])
        window = config.get("sliding_window")
        # Qwen2 states a window but switches it off with use_sliding_window: false.
        if window is not None and config.get("use_sliding_window") is False:
            window = None
        quant = config.get("quantization_config") or {}
        bits = quant.get("bits") or quant.get("w_bit")
        return cls(
            name=name or config.get("_name_or_path", ""),
            num_layers=int(config["num_hidden_layers"]),
            num_attention_heads=heads,
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
            hidden_size=hidden,
            intermediate_size=int(config.get("intermediate_size") or 4 * hidden),
            vocab_size=int(config.get("vocab_size", 32000)),
            dtype=str(config.get("torch_dtype") or config.get("dtype") or "bfloat16"),
            sliding_window=int(window) if window else None,
            tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
            quantization_bits=int(bits) if bits else None,
            quantization_group_size=int(
                quant.get("group_size") or quant.get("q_group_size") or 128
            ),
        )

    @classmethod
    def preset(cls, name: str) -> ModelSpec:
        """A model from ``PRESETS`` by its Hugging Face id; works offline."""
        try:
            return cls.from_config(PRESETS[name], name=name)
        except KeyError as exc:
            raise SizingError(
                f"No preset for {name!r}; known: {', '.join(sorted(PRESETS))}.",
                "For another model: ModelSpec.from_config(json.load(open('config.json')))",
            ) from exc

    @property
    def parameters(self) -> int:
        """Parameter count of a Llama-style decoder (what every preset is)."""
        h, kv = self.hidden_size, self.num_kv_heads * self.head_dim
        q = self.num_attention_heads * self.head_dim
        attention = h * q + 2 * h * kv + q * h
        mlp = 3 * h * self.intermediate_size
        per_layer = attention + mlp + 2 * h
        return self.num_layers * per_layer + self.embedding_parameters + h

    @property
    def embedding_parameters(self) -> int:
        tables = 1 if self.tie_word_embeddings else 2
        return tables * self.vocab_size * self.hidden_size

    def weights_gib(self) -> float:
        """Estimated weight memory.

        Quantized linear layers carry a 16-bit scale and a zero point per group; embeddings
        stay in 16 bit under AWQ and GPTQ.
        """
        dtype = dtype_bytes(self.dtype)
        if not self.quantization_bits:
            return self.parameters * dtype / GIB
        linear = self.parameters - self.embedding_parameters
        bits = self.quantization_bits + (16 + self.quantization_bits) / self.quantization_group_size
        return (linear * bits / 8 + self.embedding_parameters * dtype) / GIB

    def lora_weights(self, rank: int, modules: Iterable[str] = ATTENTION) -> int:
        """Weights of a LoRA adapter of ``rank`` on ``modules``: ``r x (in + out)`` per matrix.

        What the adapter stores, not what it changes: each adapted weight of ``in x out``
        gets ``A`` (``r x in``) and ``B`` (``out x r``), in every layer.
        """
        h, i = self.hidden_size, self.intermediate_size
        q, kv = self.num_attention_heads * self.head_dim, self.num_kv_heads * self.head_dim
        shapes = {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }
        return self.num_layers * sum(rank * sum(shapes[module]) for module in modules)

    def kv_bytes_per_token(
        self, kv_cache_dtype: str = "auto", tensor_parallel_size: int = 1
    ) -> int:
        """K and V of one token in every layer, on one GPU."""
        kv_heads = max(1, self.num_kv_heads // tensor_parallel_size)
        dtype = dtype_bytes(self.dtype if kv_cache_dtype == "auto" else kv_cache_dtype)
        return 2 * self.num_layers * kv_heads * self.head_dim * dtype


@dataclass(frozen=True)
class KVCacheCapacity:
    """How many tokens and concurrent full-length requests a KV cache holds."""

    blocks: int
    block_size: int
    blocks_per_request: int
    max_model_len: int

    @property
    def tokens(self) -> int:
        return self.blocks * self.block_size

    @property
    def max_concurrency(self) -> float:
        """VLLM's "Maximum concurrency for N tokens per request", unrounded."""
        return self.blocks / self.blocks_per_request


def blocks_per_request(
    spec: ModelSpec, max_model_len: int, block_size: int = 16, max_num_batched_tokens: int = 8192
) -> int:
    """Blocks one request of ``max_model_len`` tokens needs, as vLLM reserves them."""
    if spec.sliding_window is None:
        return math.ceil(max_model_len / block_size)
    tokens = min(spec.sliding_window - 1 + max_num_batched_tokens, max_model_len)
    return math.ceil(tokens / block_size) + 1


def kv_cache_capacity(
    spec: ModelSpec,
    kv_cache_gib: float | None = None,
    max_model_len: int = 4096,
    block_size: int = 16,
    kv_cache_dtype: str = "auto",
    tensor_parallel_size: int = 1,
    *,
    num_blocks: int | None = None,
    max_num_batched_tokens: int = 8192,
) -> KVCacheCapacity:
    """The KV cache of ``kv_cache_gib`` (or of ``num_blocks``, as a log states them), exactly.

    kubectl equivalent: the "GPU KV cache size" and "Maximum concurrency" lines of
    ``kubectl logs deploy/vllm``.
    """
    if num_blocks is None:
        if kv_cache_gib is None:
            raise SizingError("No KV cache size given.", "Give kv_cache_gib or num_blocks.")
        block_bytes = block_size * spec.kv_bytes_per_token(kv_cache_dtype, tensor_parallel_size)
        num_blocks = max(0, int(kv_cache_gib * GIB // block_bytes))
    return KVCacheCapacity(
        blocks=num_blocks,
        block_size=block_size,
        max_model_len=max_model_len,
        blocks_per_request=blocks_per_request(
            spec, max_model_len, block_size, max_num_batched_tokens
        ),
    )


@dataclass(frozen=True)
class GPU:
    """A GPU as vLLM sees it: ``total_gib`` is what ``torch.cuda.mem_get_info`` reports."""

    name: str
    total_gib: float
    nominal: str


#: Total memory as CUDA reports it (``torch.cuda.mem_get_info``), what vLLM multiplies by
#: ``gpu_memory_utilization``: nvidia-smi's total less what the driver reserves, so it moves a
#: little with the driver (the L4: 21.95-22.05 GiB). Values from PyTorch out-of-memory
#: messages and vLLM logs on recent drivers: L4 22.05 (vLLM issue #33297, driver 570), T4
#: 14.57 (QwenLM/Qwen3-VL issue #1046; docs/claims.md), A10G 22.06, A100-40GB 39.39,
#: A100-80GB 79.15, H100-80GB 79.18 (nvidia-smi shows 15360, 23034, 23028, 40960, 81920 and
#: 81559 MiB). ``nominal`` is the sales figure.
GPUS: dict[str, GPU] = {
    g.name: g
    for g in [
        GPU("T4", 14.57, "16 GB"),
        GPU("L4", 22.05, "24 GB"),
        GPU("A10G", 22.06, "24 GB"),
        GPU("A100-40GB", 39.39, "40 GB"),
        GPU("A100-80GB", 79.15, "80 GB"),
        GPU("H100-80GB", 79.18, "80 GB"),
    ]
}

# Checked against the blog's L4 log (Mistral-7B AWQ, 0.88, max-model-len 4096): vLLM kept
# 15.07 GiB for the KV cache out of 0.88 x 22.05 GiB = 19.40 GiB, so weights (3.96) plus
# activation peak and non-torch memory took 0.37 GiB. The estimate below (one step of 2048
# tokens, 0.17 GiB, plus 0.08) predicts 15.19 GiB with the measured weights (0.8 % high),
# 15.29 GiB with the weights computed from the architecture (3.86 GiB, 1.5 % high). Its CUDA
# graphs took 1.13 GiB.
_NON_TORCH_GIB = 0.08
_CUDA_GRAPH_GIB_7B = 1.13
_REFERENCE_WIDTH = 32 * 4096  # layers x hidden size of a 7B model


@dataclass
class Plan:
    """A predicted memory budget; ``estimated`` names the figures that are estimates."""

    model: str
    gpu: GPU
    gpu_memory_utilization: float
    max_model_len: int
    weights_gib: float
    activation_gib: float
    cuda_graph_gib: float
    kv_cache_gib: float
    capacity: KVCacheCapacity
    estimated: tuple[str, ...] = field(default=("weights_gib", "activation_gib", "cuda_graph_gib"))
    graphs_in_budget: bool = False

    @property
    def budget_gib(self) -> float:
        """What vLLM may use: total x gpu_memory_utilization."""
        return self.gpu.total_gib * self.gpu_memory_utilization

    @property
    def headroom_gib(self) -> float:
        """The GPU memory outside vLLM's budget: where graphs captured after the sizing go.

        vLLM 0.14 (the blog's) and 0.26's default V2 model runner capture them there; the V1
        runner counts an estimate into the budget since 0.21 (docs/benchmarks.md).
        """
        return self.gpu.total_gib - self.budget_gib

    @property
    def cuda_graphs_fit(self) -> bool:
        """Whether graph capture finds its memory; when not, the engine fails to start."""
        if self.graphs_in_budget:  # subtracted before the KV cache was sized
            return self.kv_cache_gib > 0
        return self.kv_cache_gib > 0 and self.headroom_gib >= self.cuda_graph_gib

    @property
    def fits(self) -> bool:
        return self.capacity.blocks >= self.capacity.blocks_per_request

    def to_frame(self) -> pd.DataFrame:
        rows = [
            ("GPU memory (as CUDA reports it)", self.gpu.total_gib, "GiB", False),
            ("vLLM budget (x gpu_memory_utilization)", self.budget_gib, "GiB", False),
            ("model weights", self.weights_gib, "GiB", True),
            ("activations and runtime", self.activation_gib, "GiB", True),
            ("KV cache", self.kv_cache_gib, "GiB", False),
            (f"CUDA graphs ({self._graphs_where})", self.cuda_graph_gib, "GiB", True),
            ("headroom outside the budget", self.headroom_gib, "GiB", False),
            ("KV cache tokens", self.capacity.tokens, "tokens", False),
            (
                f"max concurrency at {self.max_model_len} tokens",
                self.capacity.max_concurrency,
                "x",
                False,
            ),
            ("CUDA graphs fit", self.cuda_graphs_fit, "", False),
        ]
        frame = pd.DataFrame(rows, columns=["figure", "value", "unit", "estimate"])
        frame["value"] = [round(v, 2) if isinstance(v, float) else v for v in frame["value"]]
        return frame

    @property
    def _graphs_where(self) -> str:
        return "inside the budget" if self.graphs_in_budget else "outside the budget"

    def _repr_html_(self) -> str:
        title = (
            f"<b>{self.model}</b> on {self.gpu.name} ({self.gpu.nominal}), "
            f"gpu_memory_utilization={self.gpu_memory_utilization}, "
            f"max_model_len={self.max_model_len}"
        )
        return f"<p>{title}</p>" + self.to_frame().to_html(index=False)


def plan(
    spec: ModelSpec,
    gpu: str | GPU = "L4",
    gpu_memory_utilization: float = 0.9,
    max_model_len: int = 4096,
    *,
    block_size: int = 16,
    kv_cache_dtype: str = "auto",
    max_num_batched_tokens: int = 2048,
    weights_gib: float | None = None,
    graphs_in_budget: bool = False,
) -> Plan:
    """Predict vLLM's memory budget for ``spec`` on ``gpu``.

    The KV cache is what the budget leaves after the weights and the activation peak of one
    profiling step of ``max_num_batched_tokens`` (2048, vLLM's default for ``vllm serve`` on
    GPUs below the A100/H100 class: the blog's log compiles the range (1, 2048)). In the
    blog's vLLM 0.14.1 CUDA graphs are captured afterwards, in the memory outside the
    budget, and a capture that does not fit stops the engine; vLLM never switches the graphs
    off by itself. vLLM's V1 model runner counts their estimate into the budget before the
    KV cache is sized (on by default since 0.21): ``graphs_in_budget=True``. vLLM 0.26's V2
    model runner, its default for Mistral, captures them outside again (measured:
    docs/benchmarks.md, "vLLM's memory on a real GPU").
    """
    card = GPUS[gpu] if isinstance(gpu, str) else gpu
    weights = spec.weights_gib() if weights_gib is None else weights_gib
    act_bytes = dtype_bytes(spec.dtype)
    activation = (
        max_num_batched_tokens
        * (2 * spec.intermediate_size + 4 * spec.hidden_size)
        * act_bytes
        / GIB
        + _NON_TORCH_GIB
    )
    graphs = _CUDA_GRAPH_GIB_7B * spec.num_layers * spec.hidden_size / _REFERENCE_WIDTH
    kv = card.total_gib * gpu_memory_utilization - weights - activation
    if graphs_in_budget:
        kv -= graphs
    capacity = kv_cache_capacity(
        spec,
        max(kv, 0.0),
        max_model_len,
        block_size,
        kv_cache_dtype,
        max_num_batched_tokens=max_num_batched_tokens,
    )
    estimated = ("activation_gib", "cuda_graph_gib")
    if weights_gib is None:
        estimated = ("weights_gib", *estimated)
    return Plan(
        spec.name,
        card,
        gpu_memory_utilization,
        max_model_len,
        weights,
        activation,
        graphs,
        kv,
        capacity,
        estimated,
        graphs_in_budget,
    )


def compare(figures: Any, predicted: Plan) -> pd.DataFrame:
    """Predicted against measured (a ``StartupFigures``), figure by figure."""
    pairs = [
        ("weights_gib", predicted.weights_gib),
        ("cuda_graph_gib", predicted.cuda_graph_gib),
        ("kv_cache_gib", predicted.kv_cache_gib),
        ("kv_cache_tokens", predicted.capacity.tokens),
        ("max_concurrency", predicted.capacity.max_concurrency),
    ]
    rows = []
    for name, value in pairs:
        measured = getattr(figures, name, None)
        diff = None if measured in (None, 0) else (value - measured) / measured * 100
        rows.append(
            {
                "figure": name,
                "predicted": round(value, 2),
                "measured": measured,
                "difference %": None if diff is None else round(diff, 1),
                "estimate": name in predicted.estimated,
            }
        )
    return pd.DataFrame(rows)


_MISTRAL_7B = {
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "vocab_size": 32000,
    "sliding_window": 4096,
    "torch_dtype": "bfloat16",
    "max_position_embeddings": 32768,
}

#: config.json figures of the models the tutorial talks about, so sizing works offline.
PRESETS: dict[str, dict[str, Any]] = {
    "mistralai/Mistral-7B-v0.1": _MISTRAL_7B,
    "TheBloke/Mistral-7B-v0.1-AWQ": _MISTRAL_7B
    | {
        "torch_dtype": "float16",
        "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128},
    },
    "meta-llama/Llama-3.1-8B-Instruct": {
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "vocab_size": 128256,
        "torch_dtype": "bfloat16",
        "max_position_embeddings": 131072,
    },
    "Qwen/Qwen2.5-7B-Instruct": {
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "vocab_size": 152064,
        "sliding_window": 131072,
        "use_sliding_window": False,
        "torch_dtype": "bfloat16",
        "max_position_embeddings": 32768,
    },
    "HuggingFaceTB/SmolLM2-135M-Instruct": {
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "hidden_size": 576,
        "intermediate_size": 1536,
        "vocab_size": 49152,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "max_position_embeddings": 8192,
    },
}
