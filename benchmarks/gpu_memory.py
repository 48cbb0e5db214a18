"""The blog's GPU memory experiment on a real NVIDIA GPU, with nothing to download (issue 27).

    python benchmarks/gpu_memory.py run OUT [--l4] [--utilizations 0.88,0.95] [--runner v1]
        [--lora [--max-loras 4] [--max-lora-rank 16]] [--burst-seconds 0]
    python benchmarks/gpu_memory.py report OUT     # the Markdown for docs/benchmarks.md

``run`` writes a checkpoint with random weights and the exact tensor names, shapes, dtypes
and AWQ layout of ``TheBloke/Mistral-7B-v0.1-AWQ`` (memory depends on shapes, not values;
the text it generates is noise), then for each utilization starts vLLM with the blog's args,
keeps the full startup log (``OUT/<runner>-<utilization>.log``), and where it starts loads
the KV cache with a burst of long requests while reading vLLM's own metrics. It needs only
what a machine with vLLM's CUDA build has (torch, safetensors, tokenizers): vLLM is started
as ``python -m vllm.entrypoints.cli.main``, so a ``PYTHONPATH`` install works too.

``--l4`` makes a bigger GPU look like the blog's L4 for memory: a second process holds back
GPU memory until the free memory a new process sees is the L4's at the blog's start, and
the utilization is scaled so that the budget (utilization x total memory) is the L4's. vLLM's
batch defaults depend on the GPU's memory (more on 70 GiB and up:
``vllm/engine/arg_utils.py``, ``get_batch_defaults``), so the L4's are passed explicitly.
What still differs from an L4: Hopper's kernels (AWQ through Machete, attention through
FlashAttention 3; an L4 runs Marlin and FlashAttention 2) and the CUDA context's size.

``--lora`` serves the blog's adapter as post 6 does (``--enable-lora --lora-modules
aws-rag-qa=DIR``): a PEFT adapter with random weights of the author's shape (rank 8, alpha 16,
on q/k/v/o_proj; 6,815,744 fp32 weights, the 27 MB of post 6), written here. vLLM reserves its
LoRA memory from its own settings (``--max-loras`` x ``--max-lora-rank`` slots), not from the
adapter's size, so ``--max-loras`` and ``--max-lora-rank`` pass on; unset, vLLM's defaults
hold. Once started, one completion from the adapter tells whether it answers; the run keeps
vLLM's own lines about LoRA.

``report`` reads the logs with the tutorial's own parser (``tutorial_lib.domain.startup``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from array import array
from dataclasses import dataclass
from datetime import date
from pathlib import Path

GIB = 1024**3
#: The blog's log (tutorial_lib/blog/startup-l4-v0.14.log): "Free memory on device
#: (21.9/22.05 GiB) on startup", the L4 as CUDA reports it.
L4_TOTAL_GIB, L4_FREE_GIB = 22.05, 21.90
#: vLLM's defaults for the API server on GPUs under 70 GiB (get_batch_defaults).
L4_BATCH = ["--max-num-batched-tokens=2048", "--max-num-seqs=256"]
SERVED_NAME = "TheBloke/Mistral-7B-v0.1-AWQ"
#: The blog's adapter (post 6): its served name, PEFT's LoRA settings and target modules.
ADAPTER_NAME = "aws-rag-qa"
LORA_RANK, LORA_ALPHA = 8, 16
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
#: vLLM's LoRA defaults (vllm/config/lora.py, ``LoRAConfig``): one adapter a batch, rank <= 16.
VLLM_MAX_LORAS, VLLM_MAX_LORA_RANK = 1, 16
#: The blog's args after the model (manifests/base/deployment.yaml), the utilization apart.
BLOG_ARGS = ["--max-model-len=4096"]
PORT = 8011
START_TIMEOUT, BURST_SECONDS = 420, 30
#: TheBloke/Mistral-7B-v0.1-AWQ's config.json, as published.
MISTRAL_AWQ_CONFIG = {
    "architectures": ["MistralForCausalLM"],
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "model_type": "mistral",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "sliding_window": 4096,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "use_cache": True,
    "vocab_size": 32000,
    "quantization_config": {
        "bits": 4,
        "group_size": 128,
        "quant_method": "awq",
        "version": "gemm",
        "zero_point": True,
    },
}


# --- the checkpoint ---------------------------------------------------------------------


def linear_shapes(config: dict) -> dict[str, tuple[int, int]]:
    """Each quantized linear layer of one decoder layer: (in, out) features."""
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    kv = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    return {
        "self_attn.q_proj": (hidden, hidden),
        "self_attn.k_proj": (hidden, kv),
        "self_attn.v_proj": (hidden, kv),
        "self_attn.o_proj": (hidden, hidden),
        "mlp.gate_proj": (hidden, inner),
        "mlp.up_proj": (hidden, inner),
        "mlp.down_proj": (inner, hidden),
    }


def tensor_shapes(config: dict) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every tensor of the checkpoint: name -> (dtype, shape), AutoAWQ's GEMM layout."""
    hidden, vocab = config["hidden_size"], config["vocab_size"]
    group, pack = config["quantization_config"]["group_size"], 32 // 4  # 8 int4 in an int32
    shapes: dict[str, tuple[str, tuple[int, ...]]] = {
        "model.embed_tokens.weight": ("float16", (vocab, hidden)),
        "model.norm.weight": ("float16", (hidden,)),
        "lm_head.weight": ("float16", (vocab, hidden)),
    }
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        shapes[prefix + "input_layernorm.weight"] = ("float16", (hidden,))
        shapes[prefix + "post_attention_layernorm.weight"] = ("float16", (hidden,))
        for name, (inputs, outputs) in linear_shapes(config).items():
            shapes[f"{prefix}{name}.qweight"] = ("int32", (inputs, outputs // pack))
            shapes[f"{prefix}{name}.qzeros"] = ("int32", (inputs // group, outputs // pack))
            shapes[f"{prefix}{name}.scales"] = ("float16", (inputs // group, outputs))
    return shapes


def write_tokenizer(folder: Path, vocab_size: int) -> None:
    """A word-level tokenizer of ``vocab_size`` entries with Mistral's special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2} | {f"w{i}": i for i in range(3, vocab_size)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "model_max_length": MISTRAL_AWQ_CONFIG["max_position_embeddings"],
            }
        )
    )


def write_checkpoint(folder: Path, config: dict = MISTRAL_AWQ_CONFIG) -> Path:
    """Random weights with the model's exact layout; small scales keep activations finite."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "model.safetensors").exists():
        return folder
    tensors = {}
    for name, (dtype, shape) in tensor_shapes(config).items():
        if dtype == "int32":
            tensors[name] = torch.randint(-(2**31), 2**31 - 1, shape, dtype=torch.int32)
        elif name.endswith(".scales"):
            tensors[name] = torch.full(shape, 1e-3, dtype=torch.float16)
        elif name.endswith("norm.weight"):
            tensors[name] = torch.ones(shape, dtype=torch.float16)
        else:
            tensors[name] = (torch.randn(shape) * 0.02).to(torch.float16)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "generation_config.json").write_text(
        json.dumps({"bos_token_id": 1, "eos_token_id": 2})
    )
    write_tokenizer(folder, config["vocab_size"])
    return folder


# --- the adapter -------------------------------------------------------------------------


def adapter_shapes(
    config: dict, rank: int = LORA_RANK, targets: tuple[str, ...] = LORA_TARGETS
) -> dict[str, tuple[int, int]]:
    """PEFT's tensors of a LoRA on ``targets``: name -> shape, A [rank, in], B [out, rank].

    The names are what ``PeftModel.save_pretrained`` writes and vLLM's loader parses
    (``base_model.model.`` before the model's own module names).
    """
    shapes: dict[str, tuple[int, int]] = {}
    linears = linear_shapes(config)
    for layer in range(config["num_hidden_layers"]):
        for name, (inputs, outputs) in linears.items():
            if name.rsplit(".", 1)[-1] in targets:
                prefix = f"base_model.model.model.layers.{layer}.{name}"
                shapes[f"{prefix}.lora_A.weight"] = (rank, inputs)
                shapes[f"{prefix}.lora_B.weight"] = (outputs, rank)
    return shapes


def write_f32_safetensors(path: Path, shapes: dict[str, tuple[int, int]], scale: float) -> None:
    """Small random fp32 tensors in the safetensors format, with the standard library alone.

    No torch needed, so the writer is tested where the tests run; the format is a JSON header
    (padded to 8 bytes, as safetensors writes it) and the little-endian data in its order.
    """
    rng = random.Random(0)
    block = array("f", (rng.gauss(0.0, scale) for _ in range(4093)))  # prime: rows differ
    if sys.byteorder == "big":
        block.byteswap()
    header: dict[str, dict] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 4 * math.prod(shape)
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for shape in shapes.values():
            whole, rest = divmod(math.prod(shape), len(block))
            out.write((block * whole + block[:rest]).tobytes())


def write_adapter(folder: Path, config: dict = MISTRAL_AWQ_CONFIG, rank: int = LORA_RANK) -> Path:
    """The blog's adapter with random weights: PEFT's files, the author's shape and fp32.

    GPU memory depends on vLLM's LoRA settings and the adapter's shapes, not its values.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(
        json.dumps(
            {
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "base_model_name_or_path": SERVED_NAME,
                "r": rank,
                "lora_alpha": LORA_ALPHA,
                "lora_dropout": 0.05,
                "target_modules": list(LORA_TARGETS),
                "bias": "none",
                "fan_in_fan_out": False,
                "inference_mode": True,
                "modules_to_save": None,
                "use_dora": False,
                "use_rslora": False,
            },
            indent=2,
        )
    )
    shapes = adapter_shapes(config, rank)
    write_f32_safetensors(folder / "adapter_model.safetensors", shapes, scale=0.01)
    return folder


@dataclass(frozen=True)
class Lora:
    """A start that serves the blog's adapter; ``None``: vLLM's default for that setting."""

    adapter: Path
    max_loras: int | None = None
    max_lora_rank: int | None = None

    def args(self) -> list[str]:
        """What the blog's deployment adds to ``vllm serve``, and the settings passed on."""
        args = ["--enable-lora", "--lora-modules", f"{ADAPTER_NAME}={self.adapter}"]
        if self.max_loras is not None:
            args.append(f"--max-loras={self.max_loras}")
        if self.max_lora_rank is not None:
            args.append(f"--max-lora-rank={self.max_lora_rank}")
        return args

    def settings(self) -> dict:
        """The settings in effect, for runs.json and the report."""
        return {
            "adapter": ADAPTER_NAME,
            "rank": LORA_RANK,
            "max_loras": self.max_loras or VLLM_MAX_LORAS,
            "max_lora_rank": self.max_lora_rank or VLLM_MAX_LORA_RANK,
        }

    def tag(self) -> str:
        """The log's name part: ``lora1x16-``."""
        return "lora{max_loras}x{max_lora_rank}-".format(**self.settings())


def lora_lines(log: str, width: int = 400) -> list[str]:
    """vLLM's own lines that name LoRA, each cut to ``width`` (the config line is long)."""
    return [line[:width] for line in log.splitlines() if "lora" in line.lower()]


# --- the GPU ------------------------------------------------------------------------------

HOLDER = """
import json, sys, time, torch
target = int(sys.argv[1])
free, total = torch.cuda.mem_get_info()
context = total - free  # this process's CUDA context: a new one costs about as much
hold = max(0, free - target - context)
block = torch.empty(hold, dtype=torch.uint8, device="cuda")
print(json.dumps({"held": hold, "total": total, "context": context}), flush=True)
time.sleep(86400)
"""


def gpu_facts() -> dict[str, str]:
    query = "name,driver_version,memory.total"
    line = subprocess.run(
        ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[0]
    name, driver, memory = (part.strip() for part in line.split(","))
    versions = "import torch, vllm; print(torch.version.cuda, torch.__version__, vllm.__version__)"
    cuda = subprocess.run(
        [sys.executable, "-c", versions],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "gpu": name,
        "driver": driver,
        "memory": memory,
        "cuda": cuda[0],
        "torch": cuda[1],
        "vllm": cuda[2],
    }


def hold_back(free_bytes: int) -> tuple[subprocess.Popen[str], dict]:
    """A process that holds GPU memory until a new process sees ``free_bytes`` free."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(free_bytes)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    return holder, json.loads(holder.stdout.readline())


# --- one start ------------------------------------------------------------------------------


def _get(url: str, timeout: float = 5) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError):
        return None


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float) -> float | None:
    """Seconds until ``/health`` answered, or None when vLLM exited or time ran out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            return None
        if _get(f"http://127.0.0.1:{port}/health", timeout=2) is not None:
            return time.monotonic() - start
        time.sleep(1)
    return None


METRICS = {
    "kv_cache_usage": "vllm:kv_cache_usage_perc",
    "running": "vllm:num_requests_running",
    "waiting": "vllm:num_requests_waiting",
    "preemptions": "vllm:num_preemptions_total",
}


def metric(text: str, name: str) -> float | None:
    found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def burst(port: int, requests: int = 320, seconds: float = BURST_SECONDS) -> dict[str, float]:
    """Long requests, more than vLLM runs at once, and the peaks of its own metrics."""

    def one(seed: int) -> None:
        prompt = [3 + (seed * 7919 + i * 104729) % 31990 for i in range(1024)]
        body = {
            "model": SERVED_NAME,
            "prompt": prompt,
            "max_tokens": 2048,
            "ignore_eos": True,
            "temperature": 0,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with contextlib.suppress(urllib.error.URLError, OSError):  # stopped in the middle
            urllib.request.urlopen(request, timeout=seconds + 60).read()

    for seed in range(requests):
        threading.Thread(target=one, args=(seed,), daemon=True).start()
    peaks: dict[str, float] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = _get(f"http://127.0.0.1:{port}/metrics") or ""
        for key, name in METRICS.items():
            value = metric(text, name)
            if value is not None:
                peaks[key] = max(peaks.get(key, 0.0), value)
        time.sleep(0.5)
    return peaks


def probe(port: int, model: str) -> int | str:
    """The HTTP status of one short completion from ``model`` (an adapter's served name)."""
    body = {"model": model, "prompt": "w3 w4 w5 w6", "max_tokens": 8, "temperature": 0}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:  # vLLM's answer, such as 404 for an unknown model
        return error.code
    except (urllib.error.URLError, OSError) as error:
        return str(error)


def start(
    model: Path,
    utilization: float,
    runner: str,
    log: Path,
    extra: list[str],
    adapter: str | None = None,
    burst_seconds: float = BURST_SECONDS,
) -> dict:
    """One start of vLLM: its log, whether it served, and the burst's peaks if it did.

    ``adapter``: a served LoRA's name, asked once for a completion when vLLM is up.
    ``burst_seconds`` 0: no burst (the start's figures alone, in less GPU time).
    """
    env = dict(os.environ, VLLM_USE_FLASHINFER_SAMPLER="0", HF_HUB_OFFLINE="1")
    if runner != "default":
        env["VLLM_USE_V2_MODEL_RUNNER"] = "1" if runner == "v2" else "0"
    command = [
        sys.executable,
        *("-m", "vllm.entrypoints.cli.main", "serve", str(model)),
        f"--served-model-name={SERVED_NAME}",
        f"--port={PORT}",
        *BLOG_ARGS,
        f"--gpu-memory-utilization={utilization}",
        *extra,
    ]
    with log.open("w") as out:
        out.write("# " + " ".join(command) + "\n")
        out.flush()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        result: dict = {"command": command[2:], "runner": runner}
        try:
            seconds = wait_healthy(process, PORT, START_TIMEOUT)
            result["started"] = seconds is not None
            if seconds is not None:
                result["start_seconds"] = round(seconds, 1)
                if adapter is not None:
                    result["adapter_status"] = probe(PORT, adapter)
                if burst_seconds > 0:
                    result["burst"] = burst(PORT, seconds=burst_seconds)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            result["exit_code"] = process.returncode
    return result


def run(
    out: Path,
    utilizations: list[float],
    runner: str,
    l4: bool,
    model: Path,
    lora: Lora | None = None,
    burst_seconds: float = BURST_SECONDS,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "runs.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    # `timeout` sends SIGTERM: end through the finally clauses, which stop vLLM (a session of
    # its own, it would outlive us and hold the GPU) and the holder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    facts = gpu_facts()
    print(f"GPU: {facts}; writing the checkpoint to {model}", flush=True)
    write_checkpoint(model)
    if lora is not None:
        write_adapter(lora.adapter)
    holder, held = hold_back(int(L4_FREE_GIB * GIB)) if l4 else (None, {})
    try:
        for wanted in utilizations:
            utilization = round(wanted * L4_TOTAL_GIB * GIB / held["total"], 4) if l4 else wanted
            log = out / f"{runner}-{'l4-' if l4 else ''}{lora.tag() if lora else ''}{wanted}.log"
            extra = (L4_BATCH if l4 else []) + (lora.args() if lora else [])
            adapter = ADAPTER_NAME if lora else None
            began = time.monotonic()
            result = start(model, utilization, runner, log, extra, adapter, burst_seconds)
            result |= {"wanted": wanted, "utilization": utilization, "l4": l4, "log": log.name}
            result |= {"lora": lora.settings() if lora else None}
            result |= {"lora_log": lora_lines(log.read_text())}
            result |= {"seconds": round(time.monotonic() - began, 1), **facts}
            result |= {"date": date.today().isoformat()}
            result |= {"held_gib": round(held.get("held", 0) / GIB, 2)}
            results.append(result)
            results_file.write_text(json.dumps(results, indent=1))  # each run kept at once
            print(json.dumps(result), flush=True)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()


# --- the report ---------------------------------------------------------------------------


def lora_slots(result: dict) -> int:
    """How many adapters a start reserved GPU memory for: 0 without LoRA."""
    return (result.get("lora") or {}).get("max_loras", 0)


def lora_cell(settings: dict | None) -> str:
    if not settings:
        return "none"
    return "{max_loras} x {max_lora_rank} ({adapter}, rank {rank})".format(**settings)


def report(out: Path) -> None:
    """The Markdown for docs/benchmarks.md: each start's figures, read by the tutorial's parser."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import report as markdown

    from tutorial_lib.domain.startup import parse_startup_log

    results = json.loads((out / "runs.json").read_text())
    first = results[0]
    print(
        f"\n### vLLM {first['vllm']} on a real GPU (benchmarks/gpu_memory.py), {first['date']} "
        f"({first['gpu']}, driver {first['driver']}, CUDA {first['cuda']}, torch "
        f"{first['torch']})\n"
    )
    rows = []
    for result in sorted(results, key=lambda r: (r["runner"], lora_slots(r), r["wanted"])):
        found = parse_startup_log((out / result["log"]).read_text())
        peaks = result.get("burst", {})
        total = found.total_gpu_memory_gib
        rows.append(
            [
                result["runner"],
                lora_cell(result.get("lora")),
                f"{result['wanted']}" + (f" ({result['utilization']})" if result["l4"] else ""),
                f"{result['utilization'] * total:.2f}" if total else "",
                "yes" if result["started"] else f"no (exit {result['exit_code']})",
                result.get("start_seconds", ""),
                result.get("adapter_status", ""),
                found.weights_gib,
                found.activation_peak_gib,
                found.non_torch_gib,
                found.cuda_graph_estimate_gib or "",
                found.kv_cache_gib,
                found.kv_cache_tokens,
                found.cuda_graph_gib,
                f"{peaks['kv_cache_usage']:.0%}" if "kv_cache_usage" in peaks else "",
                int(peaks["preemptions"]) if "preemptions" in peaks else "",
            ]
        )
    rows = [["" if cell is None else cell for cell in row] for row in rows]
    markdown.table(
        [
            "model runner",
            "LoRA: max_loras x max_lora_rank (adapter)",
            "utilization (on this GPU)",
            "budget GiB",
            "started",
            "start s",
            "adapter's answer",
            "weights",
            "activation peak",
            "non-torch",
            "graph estimate in budget",
            "KV cache GiB",
            "KV tokens",
            "graphs captured",
            "KV use in the burst",
            "preemptions",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runs = commands.add_parser("run", help="start vLLM at each utilization on this GPU")
    runs.add_argument("out", type=Path)
    runs.add_argument("--l4", action="store_true", help="make this GPU look like an L4")
    runs.add_argument("--utilizations", default="0.88,0.95")
    runs.add_argument("--runner", choices=["default", "v1", "v2"], default="default")
    runs.add_argument("--model", type=Path, default=Path("/tmp/mistral-7b-awq-random"))
    runs.add_argument("--lora", action="store_true", help="serve the blog's adapter (post 6)")
    runs.add_argument("--adapter", type=Path, default=Path("/tmp/aws-rag-qa-random"))
    runs.add_argument("--max-loras", type=int, help="vLLM's --max-loras (default: vLLM's)")
    runs.add_argument("--max-lora-rank", type=int, help="vLLM's --max-lora-rank")
    runs.add_argument("--burst-seconds", type=float, default=BURST_SECONDS, help="0: none")
    reports = commands.add_parser("report", help="the Markdown table of a run's results")
    reports.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        wanted = [float(u) for u in args.utilizations.split(",")]
        lora = None
        if args.lora:
            lora = Lora(args.adapter, args.max_loras, args.max_lora_rank)
        elif args.max_loras is not None or args.max_lora_rank is not None:
            parser.error("--max-loras and --max-lora-rank need --lora")
        run(args.out, wanted, args.runner, args.l4, args.model, lora, args.burst_seconds)
    else:
        report(args.out)


if __name__ == "__main__":
    main()
