"""Where expensive, reusable artefacts live: binaries, the vLLM runtime, the stand-in model.

XDG's cache folder (``~/.cache/vllm-tutorial``), or ``VLLM_TUTORIAL_CACHE``. Nothing here is
deleted by ``down``: a second cluster reuses all of it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("VLLM_TUTORIAL_CACHE")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vllm-tutorial"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def huggingface_dir() -> Path:
    """The ``HF_HOME`` of every vLLM pod on this machine: the stand-in model lives here."""
    return cache_dir() / "huggingface"
