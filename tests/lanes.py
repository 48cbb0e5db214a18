"""The cluster tier in lanes: each pytest-xdist worker on a local cluster of its own.

Most of the cluster tier is waiting (for vLLM to start, for a probe's period, for Karpenter's
consolidation), so on two cores two clusters finish it far sooner than one (docs/decisions.md,
*The suite's budget*). With ``-n 2`` the first worker uses the usual local cluster; every
further worker starts one in a sibling state folder (``<state>-lane-2``) with its ports moved
by 1000 each, and stops it when the run ends: a lane's cluster is the run's own, whatever was
running before. A run that does not use the cluster (the unit tier's workers) is left alone.
No test in the lanes compares two tools' throughputs measured at different moments:
notebook 09 compares its two load tools on tokens per decode step, which a busy neighbour
leaves as it is (docs/benchmarks.md, Step 12); its batching gain (above 1.5x) has a wide
margin (7.9x at concurrency 16 in docs/benchmarks.md's batching sweep).

Loaded for every run by ``-p tests.lanes`` (pyproject.toml), before any test reads the
state folder: the notebooks' kernels inherit the worker's environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tutorial_lib.local import cluster, paths, ports

#: Test folders whose tests use the local cluster, directly or through a notebook's kernel.
USES_THE_CLUSTER = {"cluster", "notebooks", "browser"}
PORT_STEP = 1000
_OWN_CLUSTER = pytest.StashKey[bool]()
T = TypeVar("T")


def lane(config: pytest.Config) -> int:
    """0 for the first (or only) worker, 1 for the second, ...: from xdist's ``gw<N>``."""
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    return int(worker.removeprefix("gw"))


def lanes() -> int:
    """How many lanes this run has: pytest-xdist's workers, 1 without it."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def share_out(items: list[T], group: Callable[[T], int], lanes: int) -> list[T]:
    """``items`` ordered so that each lane runs its share of every group, group by group.

    pytest-xdist's ``worksteal`` hands each worker a contiguous slice of the collection at
    first, and later moves only items still waiting, never the last two of a worker. Sorted
    by group alone, the first worker's slice held all the notebooks and it ran them while
    the other ran out of work (256 s apart, benchmarks/lane_timeline.py). Here each slice
    holds every group, in order, and ends with short tests that can still move.
    """
    ordered = sorted(items, key=group)  # stable: the order within a group stays
    groups: dict[int, list[T]] = {}
    for item in ordered:
        groups.setdefault(group(item), []).append(item)
    return [item for lane in range(lanes) for key in groups for item in groups[key][lane::lanes]]


def uses_the_cluster(paths_given: list[str]) -> bool:
    return any(USES_THE_CLUSTER & set(Path(arg.split("::")[0]).parts) for arg in paths_given)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    number = lane(config)
    config.stash[_OWN_CLUSTER] = bool(number) and uses_the_cluster(config.args)
    if config.stash[_OWN_CLUSTER]:
        os.environ["VLLM_TUTORIAL_STATE"] = f"{paths.state_dir()}-lane-{number + 1}"
        os.environ[ports.OFFSET_ENV] = str(number * PORT_STEP)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_OWN_CLUSTER, False) and cluster.status().healthy:
        cluster.down()
