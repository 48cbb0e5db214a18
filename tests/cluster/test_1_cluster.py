"""The local cluster behaves like the blog's EKS node group, decided by the real scheduler."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.models.core_v1 import Container, PodSpec, ResourceRequirements, Toleration
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, Node, Pod

import tutorial_lib as tl
from tests.helpers import eventually
from tutorial_lib.local import cluster
from tutorial_lib.local.binaries import ensure_binaries

GPU_TOLERATION = Toleration(
    key="nvidia.com/gpu", operator="Equal", value="true", effect="NoSchedule"
)


def gpu_pod(name: str, memory: str, tolerate: bool = True) -> Pod:
    """The blog's pod shape: nodeSelector, toleration, 3 CPU, 1 GPU and ``memory``."""
    resources = ResourceRequirements(
        requests={"cpu": "3", "memory": memory, "nvidia.com/gpu": "1"},
        limits={"cpu": "4", "memory": memory, "nvidia.com/gpu": "1"},
    )
    return Pod(
        metadata=ObjectMeta(name=name, labels={"app": "sched-test"}),
        spec=PodSpec(
            containers=[
                Container(name="app", image="registry.k8s.io/pause:3.10", resources=resources)
            ],
            nodeSelector={"workload": "gpu-vllm"},
            tolerations=[GPU_TOLERATION] if tolerate else None,
        ),
    )


def scheduling_failure(client: Client, namespace: str, pod: str) -> str | None:
    for event in client.list(Event, namespace=namespace, fields={"involvedObject.name": pod}):
        if event.reason == "FailedScheduling":
            return event.message
    return None


def test_gpu_node_looks_like_a_g6_xlarge(client: Client):
    node = client.get(Node, "gpu-node-1")
    labels = node.metadata.labels
    assert labels["workload"] == "gpu-vllm"
    assert labels["node.kubernetes.io/instance-type"] == "g6.xlarge"
    taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
    assert ("nvidia.com/gpu", "true", "NoSchedule") in taints
    capacity, allocatable = node.status.capacity, node.status.allocatable
    assert (capacity["cpu"], capacity["memory"], capacity["nvidia.com/gpu"]) == ("4", "16Gi", "1")
    assert allocatable["nvidia.com/gpu"] == "1" and "pods" in allocatable
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"


def test_cpu_node_is_untainted(client: Client):
    node = client.get(Node, "cpu-node-1")
    assert not node.spec.taints
    assert "nvidia.com/gpu" not in node.status.capacity


def test_blogs_original_14gi_request_stays_pending_with_insufficient_memory(
    client: Client, namespace: str
):
    client.create(gpu_pod("too-big", "14Gi"), namespace=namespace)
    message = eventually(
        lambda: scheduling_failure(client, namespace, "too-big"),
        what="a FailedScheduling event for the 14Gi pod",
    )
    assert "Insufficient memory" in message
    assert client.get(Pod, "too-big", namespace=namespace).status.phase == "Pending"


def test_pod_without_toleration_is_refused_for_the_taint(client: Client, namespace: str):
    client.create(gpu_pod("no-toleration", "12Gi", tolerate=False), namespace=namespace)
    message = eventually(
        lambda: scheduling_failure(client, namespace, "no-toleration"),
        what="a FailedScheduling event for the pod without toleration",
    )
    assert "untolerated taint" in message
    assert client.get(Pod, "no-toleration", namespace=namespace).spec.nodeName is None


@pytest.fixture
def free_gpu(local_cluster):
    """The node has one GPU: pause the tutorial's vLLM Deployment, if any, for this test."""
    connection = tl.connect(local=True)
    try:
        replicas = tl.scale(connection, 0)
    except tl.ClusterError:  # no Deployment: the GPU is free
        yield
        return
    tl.wait_gone(connection, timeout=60)
    yield
    tl.scale(connection, replicas)


@pytest.mark.usefixtures("free_gpu")
def test_fixed_12gi_request_is_scheduled_on_the_gpu_node(client: Client, namespace: str):
    client.create(gpu_pod("fits", "12Gi"), namespace=namespace)

    def running() -> Pod | None:
        pod = client.get(Pod, "fits", namespace=namespace)
        return pod if pod.status.phase == "Running" else None

    pod = eventually(running, what="the 12Gi pod Running")
    assert pod.spec.nodeName == "gpu-node-1"


def test_unknown_field_is_rejected_by_the_real_api_server(client: Client, namespace: str):
    pod = gpu_pod("typo", "12Gi").to_dict()
    pod["spec"]["containers"][0]["resourcez"] = {}
    proc = cluster.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(pod),
        check=False,
    )
    assert proc.returncode != 0
    assert 'unknown field "spec.containers[0].resourcez"' in proc.stderr


def test_second_up_is_a_quick_no_op(local_cluster, capsys):
    before = {c.name: c.pid for c in cluster.components()}
    started = time.monotonic()
    cluster.up()
    assert time.monotonic() - started < 30
    assert "already running" in capsys.readouterr().out
    assert {c.name: c.pid for c in cluster.components()} == before


def test_kwokctl_create_would_download_nothing(tmp_path):
    """kwokctl's dry-run prints every command; with our config none of them downloads."""
    config = cluster.write_config()
    kwokctl = ensure_binaries(("kwokctl",))["kwokctl"]
    proc = subprocess.run(
        [
            str(kwokctl),
            "--name",
            "dry-run-probe",
            "--dry-run",
            *cluster.create_args(config, kubeconfig=tmp_path / "kubeconfig.yaml"),
        ],
        env=cluster.kwokctl_env() | {"KWOK_WORKDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    plan = (proc.stdout + proc.stderr).splitlines()
    assert any("kube-apiserver " in line for line in plan)
    # kwokctl "downloads" every binary into the cluster folder; each source must be local.
    sources = [line.split()[2] for line in plan if line.startswith("# Download ")]
    assert len(sources) >= 5, plan
    for source in sources:
        assert source.startswith("/") and Path(source).exists(), source
    assert not [line for line in plan if line.startswith(("curl ", "wget ", "docker "))]


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
def test_status_lists_every_component_running(local_cluster, component):
    names = {c.name: c.running for c in cluster.components()}
    assert names.get(component) is True, names
