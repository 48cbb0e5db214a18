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


def failure(what: str) -> str | None:
    """Why ``what`` (an optional download or build) failed last, or None.

    Remembered in the cache so that each ``up`` (every notebook's ``connect``) does not pay
    for it again; ``prepare`` forgets it and tries again.
    """
    try:
        return (cache_dir() / f"{what}.unavailable").read_text().strip()
    except OSError:
        return None


def remember_failure(what: str, why: str | None) -> None:
    """Note why ``what`` failed; None forgets it (it worked, or it is to be tried again)."""
    path = cache_dir() / f"{what}.unavailable"
    if why is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(why + "\n")
