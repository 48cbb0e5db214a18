"""up repairs a crashed cluster and watches survive it; down leaves nothing running.

Each test leaves a healthy cluster behind, and every other test connects afresh, so these
run in any position.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

import tutorial_lib as tl
from tests.cluster.conftest import configmap, configmaps, restart_api_server, take
from tests.helpers import eventually
from tutorial_lib.kube.watch import in_background
from tutorial_lib.local import autoscaler, cluster, daemons, paths, ports
from tutorial_lib.tools import cache


@pytest.mark.timeout(300)
def test_up_repairs_a_killed_api_server_and_a_running_watch_survives_it(
    connection, namespace, capsys
):
    connection.core.create_namespaced_config_map(namespace, configmap("before"))
    events = configmaps(connection, namespace)
    with in_background(events) as stream:
        assert take(stream, 1) == [("ADDED", "before")]
        capsys.readouterr()
        restart_api_server()
        said = capsys.readouterr().out
        assert "restarting" in said or "recreating" in said
        connection.core.create_namespaced_config_map(namespace, configmap("after"))
        seen = take(stream, 1, within=60)
        extra = take(stream, 1, within=3)
    assert seen == [("ADDED", "after")], "the watch did not survive the restart"
    assert extra == [], "an object listed before the restart was reported again"


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(address) == 0


def test_down_closes_every_port_and_up_brings_the_cluster_back(connection):
    kubeconfig = yaml.safe_load(paths.kubeconfig_path().read_text())
    server = urlparse(kubeconfig["clusters"][0]["cluster"]["server"])
    api = (server.hostname or "127.0.0.1", server.port or 443)
    prometheus = ("127.0.0.1", ports.prometheus())
    karpenter = ("127.0.0.1", ports.karpenter_health())
    # Karpenter opens its port seconds after its daemon starts (a test before may restart it).
    eventually(
        lambda: _listening(api) and _listening(prometheus) and _listening(karpenter),
        timeout=60,
        what="the API server, Prometheus and Karpenter listening before down",
    )
    # The audit's M6: a reader's own process that names a file of the state folder.
    reader = subprocess.Popen(
        ["tail", "-f", str(paths.kubeconfig_path())], stdout=subprocess.DEVNULL
    )
    try:
        cluster.down()  # raises itself when a process of ours survives
        assert reader.poll() is None, "down killed the reader's tail -f of the kubeconfig"
        assert not _listening(api), "the API server still answers after down"
        assert not _listening(prometheus), "Prometheus still answers after down"
        assert not _listening(karpenter), "Karpenter still answers after down"
        assert not paths.state_dir().exists()
        assert cache.bin_dir().exists(), "down must keep the binary cache"
    finally:
        reader.kill()
        reader.wait()
        # Two ups at once (two terminals): the second waits for the first, no daemon twice.
        other = subprocess.Popen(
            [sys.executable, "-m", "tutorial_lib.local", "up"], stdout=subprocess.PIPE, text=True
        )
        assert cluster.up().healthy  # leave a cluster for the tests and notebooks after this
        said, _ = other.communicate(timeout=600)
        assert other.returncode == 0, said
    for daemon in cluster.DAEMONS:
        assert len(_processes_running(daemon.module)) == 1, daemon.name


def _processes_running(module: str) -> list[int]:
    """Processes of this cluster (the owner marker) that run ``module``'s main()."""
    return [
        pid
        for pid in cluster.leftover_pids()
        if f"from {module} import main".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_up_restarts_a_daemon_whose_code_changed_and_the_pods_come_back(serving, capsys):
    """After a ``git pull`` the old bridge must not serve on: ``up`` replaces it."""
    before = daemons.BRIDGE.pid()
    daemons.BRIDGE.stamp_file.write_text("the code of yesterday")
    assert daemons.BRIDGE.stale()
    cluster.up()
    assert "runtime-bridge runs code from before a change: restarting it" in (
        capsys.readouterr().out
    )
    after = daemons.BRIDGE.pid()
    assert after is not None and after != before and not daemons.BRIDGE.stale()
    assert tl.ensure_serving(serving, timeout=600).ready  # its vLLM started again
    cluster.up()
    assert "restarting" not in capsys.readouterr().out  # nothing changed: nothing restarts


def test_up_brings_a_cluster_from_before_karpenter_to_the_node_group(connection, capsys):
    """An older cluster had a static gpu-node-1 and no Karpenter: `up` moves it on."""
    former = autoscaler.gpu_node()
    former["metadata"]["name"] = former["metadata"]["labels"]["kubernetes.io/hostname"] = (
        "gpu-node-1"
    )
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(former))
    daemons.KARPENTER.stop(cluster.terminate)
    assert not cluster.status().healthy
    assert cluster.up().healthy
    assert "incomplete; repairing" in capsys.readouterr().out
    assert daemons.KARPENTER.pid() is not None
    assert "gpu-node-1" not in set(tl.nodes(connection)["node"])
