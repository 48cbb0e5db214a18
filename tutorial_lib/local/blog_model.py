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
from tutorial_lib.tools import binaries, cache
from tutorial_lib.tools.progress import run_logged

MODEL_ID = "TheBloke/Mistral-7B-v0.1-AWQ"
#: The blog's manifests name no revision: the Hub's ``main``, as the blog's pod downloads it.
REVISION = "main"
#: ``off`` keeps the stand-in on a GPU (and downloads nothing).
SWITCH = "VLLM_TUTORIAL_BLOG_MODEL"
_OFF = {"off", "0", "no", "false"}
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


def _repo(hf_home: Path) -> Path:
    return hf_home / "hub" / ("models--" + MODEL_ID.replace("/", "--"))


def _attempt_file() -> Path:
    """Why the last download did not come: ``up`` does not ask the Hub again, ``prepare`` does."""
    return cache.cache_dir() / "blog-model.unavailable"


def cached(hf_home: Path | None = None) -> Path | None:
    """The snapshot of a complete download, or None (none, or one cut off half-way)."""
    repo = _repo(hf_home or cache.huggingface_dir())
    try:
        commit = (repo / "refs" / REVISION).read_text().strip()
    except OSError:
        return None
    snapshot = repo / "snapshots" / commit
    complete = (snapshot / "config.json").exists() and any(snapshot.glob("*.safetensors"))
    return snapshot if complete and not any(repo.glob("blobs/*.incomplete")) else None


def _not_wanted() -> str | None:
    """Why nothing is downloaded here, or None."""
    if os.environ.get(SWITCH, "").lower() in _OFF:
        return f"{SWITCH}=off"
    if binaries.offline():
        return "VLLM_TUTORIAL_OFFLINE is set"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in {"", *_OFF}:
        return "HF_HUB_OFFLINE is set"
    return None


def plan() -> str:
    """What serves on the GPU, for ``doctor``: the blog's model, or the stand-in and why."""
    if cached() is not None:
        return f"the blog's {MODEL_ID}"
    try:
        why = _not_wanted() or _attempt_file().read_text().strip()
    except OSError:
        return f"the blog's {MODEL_ID}, once the first `make prepare` or `up` downloads it"
    return f"the stand-in ({why})"


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
    if why is None and not again and _attempt_file().exists():
        return None  # said when it failed
    if why is None:
        why = _download(python, hf_home)
        if why is None:
            _attempt_file().unlink(missing_ok=True)
            return cached(hf_home)
        _attempt_file().parent.mkdir(parents=True, exist_ok=True)
        _attempt_file().write_text(why + "\n")
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
