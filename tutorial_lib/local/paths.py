"""Where the local cluster keeps its files.

Two roots, so ``down`` can remove everything it made without touching expensive builds:
the cache (binaries, the vLLM runtime, the model; reused across clusters) and the state
(one cluster's kubeconfig, pid files, logs; deleted by ``down``). Both follow the XDG
conventions and can be moved with ``VLLM_TUTORIAL_CACHE`` and ``VLLM_TUTORIAL_STATE``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def _xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


def cache_dir() -> Path:
    """Expensive, reusable artefacts: binaries, the runtime venv, the stand-in model."""
    override = os.environ.get("VLLM_TUTORIAL_CACHE")
    return Path(override) if override else _xdg("XDG_CACHE_HOME", ".cache") / "vllm-tutorial"


def state_dir() -> Path:
    """Everything that belongs to one running cluster; removed by ``down``."""
    override = os.environ.get("VLLM_TUTORIAL_STATE")
    return Path(override) if override else _xdg("XDG_STATE_HOME", ".local/state") / "vllm-tutorial"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def kwok_workdir() -> Path:
    """Kwokctl's working directory (``KWOK_WORKDIR``); it keeps clusters under ``clusters/``."""
    return state_dir() / "kwok"


def kubeconfig_path() -> Path:
    """The stable kubeconfig path that ``up`` writes and ``kubeconfig`` prints."""
    return state_dir() / "kubeconfig.yaml"


def package_text(name: str) -> str:
    """A data file shipped inside ``tutorial_lib.local`` (stages, nodes, CRDs, scripts)."""
    return resources.files("tutorial_lib.local").joinpath(name).read_text()
