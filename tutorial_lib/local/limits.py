"""A pod's resource limits, held on its process group as a kubelet's cgroup would hold them.

Memory: the group's resident memory, summed over its processes, is read every few seconds;
above the limit the group is killed and the container reported ``OOMKilled``. CPU: the
processes may run on at most ``ceil(limits.cpu)`` of the machine's cores.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from kubernetes.utils import parse_quantity

PAGE = os.sysconf("SC_PAGE_SIZE")


def group_memory(pgid: int) -> int:
    """Resident bytes of every process in the process group ``pgid``."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # exited while we looked
            continue
        # After the command's ")": state, ppid, pgrp, ..., rss is the 22nd field from there.
        if int(fields[2]) == pgid:
            total += int(fields[21]) * PAGE
    return total


def _limits(container: Any) -> dict[str, str]:
    return (container.resources.limits if container.resources else None) or {}


def memory_limit(container: Any) -> int | None:
    """The container's memory limit in bytes; None without one."""
    limits = _limits(container)
    return int(parse_quantity(limits["memory"])) if "memory" in limits else None


def cpu_set(container: Any) -> set[int] | None:
    """The cores the container may use under its CPU limit; None when it may use all."""
    limits = _limits(container)
    if "cpu" not in limits:
        return None
    allowed = sorted(os.sched_getaffinity(0))
    cores = max(1, math.ceil(parse_quantity(limits["cpu"])))
    return set(allowed[:cores]) if cores < len(allowed) else None
