"""Fixtures of the cluster tier: each test ensures what it needs, so any order works.

``connection`` is made per test: ``tl.connect`` repairs or restarts the local cluster when
an earlier test (the lifecycle tests) took it down, and a new connection reads the new
kubeconfig.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from kubernetes import client, utils
from nbclient import NotebookClient

import tutorial_lib as tl
from tests.helpers import FIXTURE_LABEL, FIXTURE_LABEL_KEY, eventually
from tutorial_lib.kube.watch import Background, Event, ListWatch
from tutorial_lib.local import autoscaler, cluster


@pytest.fixture
def connection(local_cluster) -> tl.Connection:
    return tl.connect(local=True)


@pytest.fixture
def serving(connection) -> tl.Connection:
    """The tutorial's vLLM Deployment applied and Ready (reused when it already is)."""
    tl.ensure_serving(connection, timeout=600)
    return connection


@pytest.fixture
def namespace(connection) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    core = connection.core
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods are refused until the controller-manager has created the default ServiceAccount.
    eventually(
        lambda: core.list_namespaced_service_account(name).items,
        timeout=30,
        what=f"the default ServiceAccount in {name}",
    )
    yield name
    core.delete_namespace(name)


@pytest.fixture
def gpu_node(connection) -> str:
    """A GPU node (Karpenter's): the one the tutorial's vLLM runs on, launched if need be."""
    return tl.ensure_serving(connection).node


@pytest.fixture
def static_gpu_node(connection) -> Iterator[str]:
    """A GPU node of its own that nothing launches or removes, labelled ``workload=<name>``.

    For lessons that need a one-GPU node group: Karpenter's NodePool cannot launch a node
    with that label, so a second GPU pod for it stays Pending.
    """
    node = autoscaler.gpu_node()
    name = f"static-{uuid.uuid4().hex[:6]}"
    labels = node["metadata"]["labels"]
    node["metadata"]["name"] = labels["kubernetes.io/hostname"] = labels["workload"] = name
    labels[FIXTURE_LABEL_KEY] = FIXTURE_LABEL
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(node))
    yield name
    cluster.kubectl("delete", "node", name, "--ignore-not-found")


@pytest.fixture
def free_gpu(connection) -> Iterator[None]:
    """No GPU held by the tutorial's vLLM: pause its Deployment, if any, for this test."""
    try:
        replicas = tl.scale(connection, 0)
    except tl.errors.NotFound:  # no Deployment: the GPU is free
        yield
        return
    tl.wait_gone(connection, timeout=60)
    yield
    tl.scale(connection, replicas)


def assert_no_node_for_14gi(message: str) -> None:
    """Karpenter launches nothing for the blog's 14Gi pod, and its words say why.

    No instance type fits the request (then the request is named), or the pool already runs
    its two GPU nodes, which Karpenter checks first.
    """
    reasons = tl.nodegroup.NO_NODE_REASONS
    assert any(reason in message for reason in reasons), message
    if reasons[0] in message:
        assert '"memory":"14Gi"' in message, message


def restart_api_server() -> None:
    """Kill kube-apiserver as a crash would, and let ``up`` repair the cluster."""
    pid = next(c.pid for c in cluster.components() if c.name == "kube-apiserver")
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not cluster.status().api_ready, what="the API server to be down")
    assert cluster.up().healthy


NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(notebook: Path | nbformat.NotebookNode) -> None:
    """Run a notebook top to bottom in a real kernel, as nbmake does; raises on a failed cell."""
    if isinstance(notebook, Path):
        notebook = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()


def create(connection: tl.Connection, obj: dict[str, Any], namespace: str) -> None:
    """Create one object from its manifest, as ``kubectl create -f`` would."""
    utils.create_from_dict(connection.api, obj, namespace=namespace)


# --- watching ConfigMaps (test_watch, test_lifecycle) -------------------------------------

LABELS = {"test": "watch"}


def configmap(name: str, value: str = "1") -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=LABELS), data={"value": value}
    )


def take(stream: Background[Event], count: int, within: float = 30) -> list[tuple[str, str]]:
    """The next ``count`` events as (type, name), or fewer when they do not come."""
    got: list[tuple[str, str]] = []
    deadline = time.monotonic() + within
    while len(got) < count and time.monotonic() < deadline and not stream.ended:
        event = stream.get(1)
        if event is not None:
            got.append((event.type, event.object.metadata.name))
    return got


def configmaps(connection, namespace: str, **options) -> ListWatch:
    return ListWatch(
        connection,
        connection.core.list_namespaced_config_map,
        namespace,
        label_selector="test=watch",
        **options,
    )


# --- the blog's GPU pod ---------------------------------------------------------------

GPU_TOLERATION = {
    "key": "nvidia.com/gpu",
    "operator": "Equal",
    "value": "true",
    "effect": "NoSchedule",
}


def gpu_pod(name: str, memory: str, tolerate: bool = True) -> dict:
    """The blog's pod shape: nodeSelector, toleration, 3 CPU, 1 GPU and ``memory``."""
    resources = {
        "requests": {"cpu": "3", "memory": memory, "nvidia.com/gpu": "1"},
        "limits": {"cpu": "4", "memory": memory, "nvidia.com/gpu": "1"},
    }
    spec = {
        "containers": [
            {"name": "app", "image": "registry.k8s.io/pause:3.10", "resources": resources}
        ],
        "nodeSelector": {"workload": "gpu-vllm"},
    }
    if tolerate:
        spec["tolerations"] = [GPU_TOLERATION]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "sched-test"}},
        "spec": spec,
    }
