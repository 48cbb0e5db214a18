"""A second local cluster on the machine: its ports moved by an offset, its processes its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import cluster, daemons, monitoring, object_store, ports


def test_an_offset_moves_every_fixed_port_and_prometheus_url(monkeypatch):
    monkeypatch.setenv(ports.OFFSET_ENV, "1000")
    moved = (ports.prometheus(), ports.karpenter_metrics(), ports.karpenter_health())
    assert moved == (20090, 20191, 20192)
    assert (ports.etcd_client(), ports.etcd_peer()) == (20379, 20380)
    assert ports.kube_apiserver() == 20443
    assert len(ports.fixed()) == len(ports.LISTENERS) and min(ports.fixed()) == 20070
    assert monitoring.url() == "http://127.0.0.1:20090"
    assert object_store.local_url() == "http://127.0.0.1:20070"


@pytest.mark.parametrize("value", ["-5", "ten", "1.5", str(ports.MAX_OFFSET + 1)])
def test_an_offset_that_is_no_port_offset_is_refused_with_the_fix(monkeypatch, value):
    monkeypatch.setenv(ports.OFFSET_ENV, value)
    with pytest.raises(LocalClusterError) as refused:
        ports.prometheus()
    assert repr(value) in refused.value.message
    assert "VLLM_TUTORIAL_STATE" in (refused.value.hint or "")


@pytest.fixture
def state(tmp_path, monkeypatch) -> str:
    folder = tmp_path / "vllm-tutorial"
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(folder))
    return str(folder)


@pytest.fixture
def sleeper() -> Iterator[Callable[..., int]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, owner: str | None = None) -> int:
        env = os.environ | ({daemons.OWNER_ENV: owner} if owner else {})
        command = [sys.executable, "-c", "import time; time.sleep(60)", *argv]
        proc = subprocess.Popen(command, env=env)
        started.append(proc)
        return proc.pid

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_down_takes_the_processes_its_cluster_started_and_no_neighbours(state, sleeper):
    ours = sleeper(f"--config.file={state}/prometheus/prometheus.yml", owner=state)
    neighbours = sleeper(
        f"--config.file={state}-lane-2/prometheus/prometheus.yml", owner=f"{state}-lane-2"
    )
    found = cluster.leftover_pids()
    assert ours in found
    assert neighbours not in found, "down would kill the second cluster's Prometheus"


def test_down_takes_a_containers_whole_process_group(state):
    """vLLM's engine renames itself, which leaves its environment unreadable: its group counts."""
    env = os.environ | {daemons.OWNER_ENV: state, daemons.CONTAINER_ENV: "uid"}
    leader = subprocess.Popen(
        ["sh", "-c", "env -i sleep 60 & echo $!; wait"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert leader.stdout is not None
        child = int(leader.stdout.readline())
        assert {leader.pid, child} <= set(cluster.leftover_pids(containers_only=True))
    finally:
        os.killpg(leader.pid, 9)
        leader.wait()


def test_down_leaves_a_readers_process_that_names_a_file_of_the_state_folder(state, sleeper):
    """The audit's M6: ``tail -f`` of a pod's log, an editor on the kubeconfig, a notes file."""
    readers = [
        sleeper(f"{state}/pods/ml-models_vllm/logs/vllm-0.log"),
        sleeper("--data-dir", state),
        sleeper(f"{state}-notes.txt"),
    ]
    assert not set(readers) & set(cluster.leftover_pids())
