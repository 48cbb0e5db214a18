"""The local cluster behaves like the blog's EKS node group, decided by the real scheduler."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import ssl
import subprocess
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import tutorial_lib as tl
from tests.cluster.conftest import create, gpu_pod
from tests.helpers import eventually
from tutorial_lib.local import autoscaler, cluster, ports
from tutorial_lib.local import binaries as local_binaries


def scheduling_failure(connection: tl.Connection, namespace: str, pod: str) -> str | None:
    events = connection.core.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={pod}"
    )
    return next((e.message for e in events.items if e.reason == "FailedScheduling"), None)


def test_a_launched_gpu_node_looks_like_a_g6_xlarge(connection, gpu_node):
    node = connection.core.read_node(gpu_node)
    labels = node.metadata.labels
    assert labels["karpenter.sh/nodepool"] == "gpu-vllm"
    assert labels["workload"] == "gpu-vllm"
    assert labels["node.kubernetes.io/instance-type"] == "g6.xlarge"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-L4"
    taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
    assert ("nvidia.com/gpu", "true", "NoSchedule") in taints
    offered = {k: node.status.allocatable[k] for k in ("cpu", "memory", "nvidia.com/gpu")}
    expected = autoscaler.gpu_node()["status"]["allocatable"]
    assert offered == {k: expected[k] for k in offered}  # what an EKS kubelet offers
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"


def test_cpu_node_is_untainted(connection):
    node = connection.core.read_node("cpu-node-1")
    assert not node.spec.taints
    assert "nvidia.com/gpu" not in node.status.capacity


@pytest.mark.usefixtures("gpu_node")
def test_blogs_original_14gi_request_stays_pending_with_insufficient_memory(connection, namespace):
    create(connection, gpu_pod("too-big", "14Gi"), namespace)
    message = eventually(
        lambda: scheduling_failure(connection, namespace, "too-big"),
        what="a FailedScheduling event for the 14Gi pod",
    )
    assert "Insufficient memory" in message
    assert connection.core.read_namespaced_pod("too-big", namespace).status.phase == "Pending"


@pytest.mark.usefixtures("gpu_node")
def test_pod_without_toleration_is_refused_for_the_taint(connection, namespace):
    create(connection, gpu_pod("no-toleration", "12Gi", tolerate=False), namespace)
    message = eventually(
        lambda: scheduling_failure(connection, namespace, "no-toleration"),
        what="a FailedScheduling event for the pod without toleration",
    )
    assert "untolerated taint" in message
    assert connection.core.read_namespaced_pod("no-toleration", namespace).spec.node_name is None


@pytest.mark.usefixtures("free_gpu")
def test_fixed_12gi_request_is_scheduled_on_the_gpu_node(connection, namespace):
    create(connection, gpu_pod("fits", "12Gi"), namespace)

    def running():
        pod = connection.core.read_namespaced_pod("fits", namespace)
        return pod if pod.status.phase == "Running" else None

    # The GPU node Karpenter keeps may be going (empty for consolidateAfter, 1m here): then
    # the pod waits for a node launched for it, which a loaded machine takes its time with.
    pod = eventually(
        running,
        timeout=180,
        what=lambda: f"the 12Gi pod Running:\n{tl.explain(connection, 'fits', namespace)}",
    )
    node = connection.core.read_node(pod.spec.node_name)
    assert node.metadata.labels["karpenter.sh/nodepool"] == "gpu-vllm"


def test_unknown_field_is_rejected_by_the_real_api_server(connection, namespace):
    pod = gpu_pod("typo", "12Gi")
    pod["spec"]["containers"][0]["resourcez"] = {}
    proc = connection.run_kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(pod),
    )
    assert proc.returncode != 0
    assert 'unknown field "spec.containers[0].resourcez"' in proc.stderr


def test_second_up_is_a_no_op(connection, capsys):
    before = {c.name: c.pid for c in cluster.components()}
    capsys.readouterr()
    cluster.up()
    assert "already running" in capsys.readouterr().out
    assert {c.name: c.pid for c in cluster.components()} == before


def kwokctl_plan(folder: Path) -> list[str]:
    """What ``kwokctl create cluster`` would run with our config: its dry-run, line by line."""
    folder.mkdir(parents=True, exist_ok=True)
    config = cluster.write_config()
    kwokctl = local_binaries.ensure("kwokctl")["kwokctl"]
    proc = subprocess.run(
        [
            str(kwokctl),
            "--name",
            "dry-run-probe",
            "--dry-run",
            *cluster.create_args(config, kubeconfig=folder / "kubeconfig.yaml"),
        ],
        env=cluster.kwokctl_env() | {"KWOK_WORKDIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return (proc.stdout + proc.stderr).splitlines()


def test_kwokctl_create_would_download_nothing(tmp_path):
    """kwokctl's dry-run prints every command; with our config none of them downloads."""
    plan = kwokctl_plan(tmp_path)
    assert any("kube-apiserver " in line for line in plan)
    # kwokctl "downloads" every binary into the cluster folder; each source must be local.
    sources = [line.split()[2] for line in plan if line.startswith("# Download ")]
    assert len(sources) >= 5, plan
    for source in sources:
        assert source.startswith("/") and Path(source).exists(), source
    assert not [line for line in plan if line.startswith(("curl ", "wget ", "docker "))]


def test_two_clusters_created_at_once_get_no_port_in_common(tmp_path, monkeypatch):
    """kwokctl picks no port: it took 32766 for both lanes' API servers, started together."""
    listening = {}
    for offset in (0, 1000):
        monkeypatch.setenv(ports.OFFSET_ENV, str(offset))
        monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path / f"state-{offset}"))
        plan = "\n".join(kwokctl_plan(tmp_path / f"kwok-{offset}"))
        given = {int(port) for port in re.findall(r"(?:127\.0\.0\.1:|port[= ])(\d+)\b", plan)}
        assert ports.kube_apiserver() in given, plan
        assert given <= set(ports.fixed()), f"kwokctl's own pick: {given - set(ports.fixed())}"
        listening[offset] = given
    assert not listening[0] & listening[1000]


@pytest.mark.parametrize(
    "component",
    [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok-controller",
        "runtime-bridge",
        "monitoring",
    ],
)
def test_status_lists_every_component_running(connection, component):
    names = {c.name: c.running for c in cluster.components()}
    assert names.get(component) is True, names


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _etcd_range(prefix: str, context: ssl.SSLContext | None) -> dict[str, Any]:
    """etcd's v3 HTTP gateway: the keys under ``prefix``, as ``etcdctl get --prefix`` lists."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = {"key": _b64(prefix), "range_end": _b64(end), "keys_only": True}
    scheme = "https" if context else "http"
    request = urllib.request.Request(
        f"{scheme}://127.0.0.1:{ports.etcd_client()}/v3/kv/range",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return json.load(answer)


def test_etcd_answers_no_client_without_the_clusters_certificate(connection):
    """The audit's C2: with no credentials, any local account listed every namespace."""
    pki = cluster.pki_dir()
    trusting = ssl.create_default_context(cafile=pki / "ca.crt")
    with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP, as before
        _etcd_range("/registry/namespaces/", None)
    # TLS, but no client certificate: the handshake fails, or the server cuts the request.
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        _etcd_range("/registry/namespaces/", trusting)
    trusting.load_cert_chain(pki / "admin.crt", pki / "admin.key")  # what the API server has
    found = _etcd_range("/registry/namespaces/", trusting)["kvs"]
    keys = [base64.b64decode(kv["key"]).decode() for kv in found]
    assert "/registry/namespaces/kube-system" in keys, keys


def test_the_kubelet_api_answers_no_client_without_the_clusters_certificate(connection):
    """kwok's kubelet API gave any local account every pod's logs and a way into each pod."""
    api = f"127.0.0.1:{ports.kwok_controller()}"
    with pytest.raises(urllib.error.HTTPError) as plain:  # plain HTTP shared its port
        urllib.request.urlopen(f"http://{api}/healthz", timeout=10)
    assert plain.value.code == 403
    unverified = ssl._create_unverified_context()  # an attacker trusts any server certificate
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"https://{api}/healthz", timeout=10, context=unverified)
    pki = cluster.pki_dir()
    unverified.load_cert_chain(pki / "admin.crt", pki / "admin.key")  # the API server's
    with urllib.request.urlopen(f"https://{api}/healthz", timeout=10, context=unverified) as ok:
        assert ok.status == 200


def _socket_inodes(pids: Iterable[int]) -> dict[str, tuple[int, str]]:
    """The socket inodes these processes hold, each with its process's pid and name."""
    inodes = {}
    for pid in pids:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target.removeprefix("socket:[").removesuffix("]")] = (pid, name)
        except OSError:  # gone, or a file descriptor closed while we looked
            continue
    return inodes


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """``/proc/net/tcp*``'s ``0100007F:4A3B``: each 32-bit word in little-endian order."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words), int(port, 16)


#: vLLM's engine opens torch.distributed's key-value store even on one device, and torch binds
#: it to every interface whatever host it is given (TCPStore('127.0.0.1', 0, is_master=True)
#: listens on *:port with both of torch 2.11's backends): an open finding of the audit's C2
#: that the tutorial cannot close from outside vLLM (docs/decisions.md, issue 28).
TORCH_STORE_OWNER = "VLLM::EngineCor"


def test_no_process_of_the_cluster_listens_beyond_loopback(serving):
    """Karpenter's ports listened on every interface; no port of ours may (the audit's C2).

    With vLLM running (``serving``), so that its listeners are always among those checked.
    """
    inodes = _socket_inodes(cluster.leftover_pids())
    listening = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening[_address(fields[1])] = inodes[fields[9]]
    names = {name for _, name in listening.values()}
    for daemon in ("etcd", "kube-apiserver", "kwok", "prometheus", "karpenter", "vllm"):
        assert any(name.lower().startswith(daemon) for name in names), (daemon, names)
    outside = [
        (f"{host}:{port}", pid, name)
        for (host, port), (pid, name) in listening.items()
        if not _loopback(host)
    ]
    stores = Counter(pid for _, pid, name in outside if name == TORCH_STORE_OWNER)
    assert all(count == 1 for count in stores.values()), outside  # one store per engine
    assert [o for o in outside if o[2] != TORCH_STORE_OWNER] == [], outside


def _loopback(host: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = host.ipv4_mapped if isinstance(host, ipaddress.IPv6Address) else None
    return host.is_loopback or (mapped is not None and mapped.is_loopback)
