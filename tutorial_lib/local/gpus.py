"""The machine's NVIDIA GPUs, as ``nvidia-smi`` reports them, and whether vLLM can use them.

Where one can, the local cluster's GPU node is backed by it: the node offers the real
count of ``nvidia.com/gpu``, and the runtime bridge starts vLLM's CUDA build for the pods
on it (``runtime.Build.CUDA``). ``VLLM_TUTORIAL_GPU=off`` keeps the CPU stand-in on a
machine with a GPU, as the suite's CPU tiers do everywhere.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import NoReturn

from tutorial_lib.tools import binaries

#: vLLM's CUDA 13.0 builds (its PyPI wheels since 0.2x, the manifests' ``-cu130`` image) need
#: an NVIDIA driver of the 580 series or newer (docs/eks.md).
DRIVER_MAJOR = 580
#: CUDA 13.0 dropped Volta (7.0): Turing (7.5) is the oldest GPU those builds run on (CUDA 13.0's
#: release notes, *Deprecated Architectures*; NVIDIA/cuDecomp#97).
COMPUTE_CAPABILITY = (7, 5)
#: ``off`` keeps the CPU stand-in on a machine with a GPU.
SWITCH = "VLLM_TUTORIAL_GPU"
_QUERY = "--query-gpu=index,name,driver_version,memory.total,compute_cap"
_TIMEOUT = 4


class NoAnswer(Exception):
    """``nvidia-smi`` exists but does not answer: a driver that is not loaded, or broken."""


@dataclass(frozen=True)
class Gpu:
    """One GPU, as ``nvidia-smi --query-gpu`` states it."""

    index: int
    name: str
    driver: str
    memory_mib: int
    compute_capability: tuple[int, int]

    @property
    def problem(self) -> str | None:
        """Why vLLM's CUDA build cannot run on it, with the fix; None when it can."""
        if int(self.driver.split(".")[0]) < DRIVER_MAJOR:
            return f"vLLM's CUDA 13.0 builds need driver {DRIVER_MAJOR} or newer: update it."
        if self.compute_capability < COMPUTE_CAPABILITY:
            return (
                "vLLM's CUDA 13.0 builds need compute capability 7.5 (Turing) or newer; this GPU "
                "cannot run them."
            )
        return None

    @property
    def product(self) -> str:
        """The ``nvidia.com/gpu.product`` label NVIDIA's feature discovery gives its node."""
        return self.name.replace(" ", "-")


def detect() -> list[Gpu]:
    """Every NVIDIA GPU here; none without ``nvidia-smi``. Raises ``NoAnswer``."""
    smi = shutil.which("nvidia-smi")
    return [] if smi is None else list(_detect(smi))


@functools.cache
def _detect(smi: str) -> tuple[Gpu, ...]:
    """Asked once per process and ``nvidia-smi``: the GPUs do not change while it runs."""
    proc = _smi(_QUERY, "--format=csv,noheader,nounits", smi=smi)
    try:
        found = tuple(_parse(line) for line in proc.stdout.splitlines() if line.strip())
    except (IndexError, ValueError):
        found = ()
    return found or _silent(proc)


def cuda_version() -> str | None:
    """The newest CUDA the driver supports, from ``nvidia-smi``'s header; None if unstated."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        found = re.search(r"CUDA Version:\s*([\d.]+)", _smi().stdout)
    except NoAnswer:
        return None
    return found.group(1) if found else None


def _smi(*args: str, smi: str = "nvidia-smi") -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [smi, *args], capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NoAnswer(str(exc)) from None


def _parse(line: str) -> Gpu:
    index, name, driver, memory, capability = (part.strip() for part in line.split(","))
    major, minor = (int(n) for n in capability.split("."))
    return Gpu(int(index), name, driver, int(float(memory)), (major, minor))


def _silent(proc: subprocess.CompletedProcess[str]) -> NoReturn:
    said = (proc.stderr or proc.stdout).strip().splitlines()
    raise NoAnswer(said[0] if said else "no output")


def usable() -> list[Gpu]:
    """Every GPU here that vLLM's CUDA build can run on; none where the driver does not answer."""
    try:
        return [gpu for gpu in detect() if gpu.problem is None]
    except NoAnswer:
        return []


def backing() -> list[Gpu]:
    """The GPUs the local cluster's GPU node runs on: every usable one, unless switched off."""
    return [] if binaries.switched_off(SWITCH) else usable()
