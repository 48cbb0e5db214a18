"""up repairs a crashed cluster; down leaves nothing running (vLLM included). Runs last."""

from __future__ import annotations

import os
import signal

from tests.helpers import eventually
from tutorial_lib.local import cluster, paths


def _apiserver_pid() -> int:
    return next(c.pid for c in cluster.components() if c.name == "kube-apiserver")


def test_up_repairs_a_cluster_whose_api_server_was_killed(local_cluster, capsys):
    os.kill(_apiserver_pid(), signal.SIGKILL)
    eventually(lambda: not cluster.status().api_ready, what="the API server to be down")
    status = cluster.up()
    assert status.healthy
    out = capsys.readouterr().out
    assert "restarting" in out or "recreating" in out


def test_down_stops_every_process_and_up_brings_it_back(local_cluster):
    pids = [c.pid for c in cluster.components() if c.pid]
    assert len(pids) >= 7  # control plane, kwok, the runtime bridge, monitoring
    containers = cluster.leftover_pids(containers_only=True)  # vLLM, if a pod runs
    cluster.down()
    for pid in pids + containers:
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid), f"pid {pid} survived down"
    assert not paths.state_dir().exists()
    assert paths.bin_dir().exists(), "down must keep the binary cache"
    assert cluster.up().healthy  # leave a cluster for the tests and notebooks after this


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" in status.read().lower()
    except OSError:
        return True
