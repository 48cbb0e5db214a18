"""A pod's limits on its process group: the memory the bridge reads, the cores it allows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kubernetes import client

from tests.helpers import eventually
from tutorial_lib.local import bridge, limits

MIB = 2**20


def container(**limit: str) -> client.V1Container:
    return client.V1Container(name="c", resources=client.V1ResourceRequirements(limits=limit))


def test_group_memory_sums_every_process_of_the_group():
    """A leader and its child, 100 MiB each, in a session of their own (as vLLM runs)."""
    hold = "x = bytearray(100 * 2**20); import time; time.sleep(60)"
    leader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {hold!r}]); {hold}",
        ],
        start_new_session=True,
    )
    try:
        used = eventually(
            lambda: (m := limits.group_memory(leader.pid)) > 200 * MIB and m,
            what="both processes holding their 100 MiB",
        )
        assert used < 400 * MIB
    finally:
        os.killpg(leader.pid, 9)
        leader.wait()
    eventually(lambda: limits.group_memory(leader.pid) == 0, what="nothing left of the group")


def test_memory_limit_reads_the_quantity():
    assert limits.memory_limit(container(memory="12Gi")) == 12 * 2**30
    assert limits.memory_limit(container(cpu="1")) is None


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to restrict to one")
def test_cpu_limit_allows_that_many_cores_rounded_up():
    cores = sorted(os.sched_getaffinity(0))
    assert limits.cpu_set(container(cpu="500m")) == {cores[0]}
    assert limits.cpu_set(container(cpu=str(len(cores)))) is None
    assert limits.cpu_set(container(memory="1Gi")) is None


def test_a_container_that_does_not_start_names_the_runtime_and_its_fix():
    """Admitted containers run only the runtime's vllm: when it is missing, make prepare."""
    message = bridge.could_not_start(FileNotFoundError(2, "No such file", "/x/bin/vllm"))
    assert "could not start the container" in message and "/x/bin/vllm" in message
    assert "run `make prepare`" in message
