"""Where the local cluster keeps the files of one running cluster.

The state (kubeconfig, pid files, logs) is deleted by ``down``; expensive builds live in
the cache (``tutorial_lib.tools.cache``) and survive it. XDG's state folder, or
``VLLM_TUTORIAL_STATE``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def state_dir() -> Path:
    """Everything that belongs to one running cluster; removed by ``down``."""
    override = os.environ.get("VLLM_TUTORIAL_STATE")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(xdg) / "vllm-tutorial"


def kwok_workdir() -> Path:
    """Kwokctl's working directory (``KWOK_WORKDIR``); it keeps clusters under ``clusters/``."""
    return state_dir() / "kwok"


def kubeconfig_path() -> Path:
    """The stable kubeconfig path that ``up`` writes and ``kubeconfig`` prints."""
    return state_dir() / "kubeconfig.yaml"


def package_text(name: str) -> str:
    """A data file shipped inside ``tutorial_lib.local`` (stages, nodes, CRDs, scripts)."""
    return resources.files("tutorial_lib.local").joinpath(name).read_text()
