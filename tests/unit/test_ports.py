"""A second local cluster on the machine: its ports moved by an offset, its processes its own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tutorial_lib.errors import LocalClusterError
from tutorial_lib.local import cluster, monitoring, ports


def test_an_offset_moves_every_fixed_port_and_prometheus_url(monkeypatch):
    monkeypatch.setenv(ports.OFFSET_ENV, "1000")
    moved = (ports.prometheus(), ports.karpenter_metrics(), ports.karpenter_health())
    assert moved == (20090, 20191, 20192)
    assert (ports.etcd_client(), ports.etcd_peer()) == (20379, 20380)
    assert ports.kube_apiserver() == 20443
    assert len(ports.fixed()) == len(ports.LISTENERS) and min(ports.fixed()) == 20090
    assert monitoring.url() == "http://127.0.0.1:20090"


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

    def start(*argv: str) -> int:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *argv])
        started.append(proc)
        return proc.pid

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_down_takes_the_processes_of_its_state_folder_not_those_of_a_neighbours(state, sleeper):
    ours = sleeper(f"--config.file={state}/prometheus/prometheus.yml")
    also_ours = sleeper("--data-dir", state)
    neighbours = sleeper(f"--config.file={state}-lane-2/prometheus/prometheus.yml")
    found = cluster.leftover_pids()
    assert ours in found and also_ours in found
    assert neighbours not in found, "down would kill the second cluster's Prometheus"
