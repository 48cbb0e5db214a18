"""The blog's own model, where the local cluster's GPU node runs on this machine's GPU.

``TheBloke/Mistral-7B-v0.1-AWQ`` comes from the Hugging Face Hub (or the mirror that
``HF_ENDPOINT`` names), through the runtime's own ``huggingface_hub``, into the cache's Hub
folder, where the bridge offers every model to every pod: with it there, ``connect``
applies the blog's manifests unchanged (overlay ``eks-l4``). Without a GPU, offline, or
where the Hub does not answer, the stand-in serves (overlay ``local-gpu``) and nothing fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from tutorial_lib.errors import ToolError
from tutorial_lib.local import gpus
from tutorial_lib.tools import binaries, cache
from tutorial_lib.tools.progress import run_logged

MODEL_ID = "TheBloke/Mistral-7B-v0.1-AWQ"
#: The blog's manifests name no revision: the Hub's ``main``, as the blog's pod downloads it.
REVISION = "main"
#: ``off`` keeps the stand-in on a GPU (and downloads nothing).
SWITCH = "VLLM_TUTORIAL_BLOG_MODEL"
#: What the blog's args took on the H100 (docs/benchmarks.md, the GPU tier with the blog's
#: model's layout), in GiB: inside the 0.88 budget the weights, the activation peak, non-torch
#: memory and one 4,096-token request's KV cache (128 KiB a token); CUDA graphs outside it.
_IN_BUDGET_GIB = 3.98 + 0.89 + 0.22 + 0.5
_GRAPHS_GIB = 1.01
_UTILIZATION = 0.88
_FAILURE = "blog-model"
#: Run by the runtime's Python; its last line says what went wrong, the Hub's cause first
#: (huggingface_hub reports a Hub it could not ask as "no local copy").
_DOWNLOAD = (
    "import sys\n"
    "from huggingface_hub import snapshot_download\n"
    "try:\n"
    "    print(snapshot_download(sys.argv[1], revision=sys.argv[2], cache_dir=sys.argv[3]))\n"
    "except Exception as exc:\n"
    "    cause = exc.__cause__ or exc\n"
    "    sys.exit(f'{type(cause).__name__}: {str(cause).strip().splitlines()[0]}')\n"
)


def repo(hf_home: Path) -> Path:
    """The model's folder in a Hugging Face cache, as the Hub's client lays it out."""
    return hf_home / "hub" / ("models--" + MODEL_ID.replace("/", "--"))


def cached(hf_home: Path | None = None) -> Path | None:
    """The snapshot of a complete download, or None (none, or one cut off half-way)."""
    folder = repo(hf_home or cache.huggingface_dir())
    try:
        commit = (folder / "refs" / REVISION).read_text().strip()
    except OSError:
        return None
    snapshot = folder / "snapshots" / commit
    complete = (snapshot / "config.json").exists() and any(snapshot.glob("*.safetensors"))
    return snapshot if complete and not any(folder.glob("blobs/*.incomplete")) else None


def serves(hf_home: Path | None = None) -> bool:
    """Whether the GPU serves the blog's model: downloaded, and not switched off."""
    return not binaries.switched_off(SWITCH) and cached(hf_home) is not None


def _unfit(gpu: gpus.Gpu) -> str | None:
    """Why the blog's model with the blog's args cannot start on ``gpu``, or None.

    Its AWQ kernels need compute capability 7.5 (vLLM 0.26 ``auto_awq.py``), as every CUDA
    13.0 build does: a GPU below it backs no node at all (``gpus.COMPUTE_CAPABILITY``).
    """
    memory = gpu.memory_mib / 1024
    if _UTILIZATION * memory < _IN_BUDGET_GIB or (1 - _UTILIZATION) * memory < _GRAPHS_GIB:
        return f"{memory:.1f} GiB of {gpu.name} cannot hold it at the blog's 0.88 with 4,096 tokens"
    return None


def _not_wanted() -> str | None:
    """Why nothing is downloaded here, or None."""
    if binaries.switched_off(SWITCH):
        return f"{SWITCH}=off"
    if binaries.offline():
        return "VLLM_TUTORIAL_OFFLINE is set"
    if os.environ.get("HF_HUB_OFFLINE") and not binaries.switched_off("HF_HUB_OFFLINE"):
        return "HF_HUB_OFFLINE is set"
    backing = gpus.backing()
    return _unfit(backing[0]) if backing else "no GPU backs the node"


def plan() -> str:
    """What serves on the GPU, for ``doctor``: the blog's model, or the stand-in and why."""
    if serves():
        return f"the blog's {MODEL_ID}"
    why = _not_wanted() or cache.failure(_FAILURE)
    if why is None:
        return f"the blog's {MODEL_ID}, once the first `make prepare` or `up` downloads it"
    return f"the stand-in ({why})"


def to_download() -> bool:
    """Whether the next ``prepare`` downloads it (for ``doctor``'s disk estimate)."""
    return cached() is None and _not_wanted() is None


def ensure(python: Path, hf_home: Path, *, again: bool = False) -> Path | None:
    """The blog's model's snapshot, downloaded with ``python``'s huggingface_hub if need be.

    None where it cannot come, said once with the reason: the stand-in serves then. A
    failed download is not tried again by every ``up`` (each notebook's ``connect``), only
    when ``again`` (``prepare``).
    """
    found = cached(hf_home)
    if found is not None:
        return found
    why = _not_wanted()
    if why is None and not again and cache.failure(_FAILURE) is not None:
        return None  # said when it failed
    if why is None:
        why = _download(python, hf_home)
        cache.remember_failure(_FAILURE, why)
        if why is None:
            return cached(hf_home)
    print(
        f"The stand-in model serves on this machine's GPU, not the blog's {MODEL_ID}: {why}. "
        "`make prepare` tries the download again.",
        flush=True,
    )
    return None


def _download(python: Path, hf_home: Path) -> str | None:
    """Download into ``hf_home``; why it failed, or None."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    log = cache.cache_dir() / "blog-model-download.log"
    try:
        run_logged(
            [python, "-c", _DOWNLOAD, MODEL_ID, REVISION, hf_home / "hub"],
            log=log,
            desc=f"Downloading the blog's model {MODEL_ID} (3.98 GiB of weights) from {endpoint}",
        )
    except ToolError:
        said = [line for line in log.read_text().splitlines() if line.strip()]
        return f"the download from {endpoint} failed ({said[-1][:200] if said else 'no output'})"
    if cached(hf_home) is None:
        return f"the download from {endpoint} left no complete snapshot (log: {log})"
    return None
