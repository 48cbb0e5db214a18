"""Which real GPU each pod gets: the NVIDIA device plugin's job on an EKS node.

Where the local cluster's GPU node runs on this machine's GPUs, a pod that asks for
``nvidia.com/gpu: N`` gets N of them for its whole life (its container's restarts keep
them), as ``CUDA_VISIBLE_DEVICES``; the scheduler never places more GPU pods on the node
than it offers, so a pod finding none free is a bug worth its own message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from tutorial_lib import names


class NoneFree(Exception):
    """The pod asks for more GPUs than are free."""


def requested(container: Any) -> int:
    """How many GPUs a container asks for: its limit, as the device plugin reads it."""
    resources = container.resources
    amounts = (resources.limits or resources.requests or {}) if resources else {}
    return int(amounts.get(names.GPU_RESOURCE, 0))


class Devices:
    """The GPUs of the GPU node, each held by at most one pod."""

    def __init__(self, indices: Iterable[int]) -> None:
        self._free = sorted(indices)
        self._held: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def take(self, pod: str, count: int) -> list[int]:
        """``count`` GPUs for ``pod`` (its uid), the same ones when it asks again."""
        with self._lock:
            if pod in self._held:
                return self._held[pod]
            if count > len(self._free):
                raise NoneFree(
                    f"it asks for {count} GPU(s), {len(self._free)} of this machine's are free"
                )
            self._held[pod], self._free = self._free[:count], self._free[count:]
            return self._held[pod]

    def give_back(self, pod: str) -> None:
        with self._lock:
            self._free = sorted(self._free + self._held.pop(pod, []))
