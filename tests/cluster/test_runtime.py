"""The vLLM pod on the simulated GPU node is a real vLLM server, reached the Kubernetes way."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from kubernetes.client import V1Pod

import tutorial_lib as tl
from tests.helpers import eventually
from tutorial_lib.domain.startup import parse_startup_log
from tutorial_lib.kube import objects
from tutorial_lib.local import cluster as local
from tutorial_lib.local.runtime import MODEL_ID, VLLM_VERSION

NS = tl.names.NAMESPACE


def vllm_pod(connection: tl.Connection) -> V1Pod | None:
    current = objects.pods(connection, NS, {"app": "vllm"})
    return current[0] if current else None


def rolled_out_pod(connection: tl.Connection) -> V1Pod | None:
    """The pod of the Deployment's current template, once it exists.

    When ``apply`` changed the template (an earlier test in the lane left it changed), the
    old ReplicaSet's pod may still run for a moment and then goes: not the pod to watch.
    """
    deploy = connection.apps.read_namespaced_deployment(tl.names.DEPLOYMENT, NS)
    status = deploy.status
    if (status.observed_generation or 0) < deploy.metadata.generation:
        return None
    if (status.updated_replicas or 0) < (deploy.spec.replicas or 0):
        return None
    current = objects.pods(connection, NS, {"app": "vllm"})
    return max(current, key=lambda p: p.metadata.creation_timestamp) if current else None


def ready(pod: V1Pod | None) -> bool:
    return pod is not None and objects.ready(pod)


def health_through_pod(connection: tl.Connection, pod: V1Pod) -> bool:
    """vLLM's answer to /health through a tunnel to the pod; the tunnel itself must open."""
    with tl.port_forward(connection, f"pod/{pod.metadata.name}", 8000, timeout=10) as tunnel:
        try:
            return httpx.get(tunnel.url + "/health", timeout=5).status_code == 200
        except httpx.HTTPError:  # the port is forwarded, but vLLM does not listen yet
            return False


@pytest.fixture
def started(connection):
    """A fresh vLLM pod; records what the pod and /health said while it was starting."""
    existing = vllm_pod(connection)
    if existing is not None:
        connection.core.delete_namespaced_pod(existing.metadata.name, NS)
        eventually(
            lambda: (
                vllm_pod(connection) is None
                or vllm_pod(connection).metadata.uid != existing.metadata.uid
            ),
            timeout=60,
            what="the old vLLM pod to go",
        )
    tl.apply(connection, connection.overlay)
    running = eventually(
        lambda: (p := rolled_out_pod(connection)) is not None and p.status.phase == "Running" and p,
        timeout=120,
        what="the vLLM pod of the manifests' template Running",
    )
    early = {"ready": ready(running), "health": health_through_pod(connection, running)}
    pod = tl.wait_ready(connection, timeout=300)
    return {"early": early, "pod": pod}


def vllm_processes(pod: V1Pod) -> list[int]:
    """The pod's vLLM processes: they carry the bridge's marker and live in the pod's folder."""
    found = []
    for pid in local.leftover_pids(containers_only=True):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if pod.metadata.uid in cwd:
            found.append(pid)
    return found


def test_pod_is_not_ready_before_health_answers_and_ready_after(started):
    assert started["early"] == {"ready": False, "health": False}
    assert started["pod"].ready


def test_kubectl_logs_through_the_api_server_show_vllm_startup_figures(serving):
    pod = objects.newest_pod(serving)
    proc = serving.run_kubectl("logs", "-n", NS, pod.metadata.name)
    assert proc.returncode == 0, proc.stderr
    assert "KV cache size" in proc.stdout and "Maximum concurrency" in proc.stdout
    figures = parse_startup_log(proc.stdout)
    model = tl.sizing.ModelSpec.preset(MODEL_ID)  # VLLM_CPU_KVCACHE_SPACE=1: 1 GiB of KV cache
    predicted = tl.sizing.kv_cache_capacity(model, 1, max_model_len=4096).tokens
    assert abs(figures.kv_cache_tokens - predicted) / predicted < 0.005, (figures, predicted)
    assert figures.max_concurrency_tokens == 4096
    # The launcher's answers: vLLM's own CPU version, and no warm-up batch in eager mode.
    assert f"version {VLLM_VERSION}" in proc.stdout and "CPU_ATTN" in proc.stdout
    assert "Warming up model" not in proc.stdout


def test_service_port_forward_serves_completions_chat_and_metrics(serving):
    with tl.port_forward(serving) as tunnel:
        completion = tl.complete(tunnel.url, "Kubernetes is", max_tokens=20)
        answer = tl.chat(tunnel.url, "What is Kubernetes? Answer in one sentence.", max_tokens=40)
        metrics = httpx.get(tunnel.url + "/metrics", timeout=10).text
    assert completion.text and completion.completion_tokens > 0 and completion.prompt_tokens > 0
    assert answer.text and answer.completion_tokens > 0
    assert "vllm:num_requests_running" in metrics


def test_killed_vllm_process_is_restarted_and_ready_again(serving):
    connection = serving
    pod = vllm_pod(connection)
    pids = vllm_processes(pod)
    assert pids, "no vLLM process found for the pod"
    restarts = pod.status.container_statuses[0].restart_count
    leader = os.getpgid(pids[0])  # the bridge starts each container in its own group
    os.kill(leader, signal.SIGKILL)  # the API server process only: its workers live on

    def restarted_and_ready() -> V1Pod | None:
        current = vllm_pod(connection)
        statuses = current.status.container_statuses or []
        return current if ready(current) and statuses[0].restart_count == restarts + 1 else None

    def how_it_stands() -> str:
        current = vllm_pod(connection)
        if current is None:
            return "one restart more, and Ready: the pod is gone"
        status = (current.status.container_statuses or [None])[0]
        tail = connection.run_kubectl("logs", "-n", NS, current.metadata.name, "--tail=15")
        return (
            f"one restart more (from {restarts}), and Ready; the container now: {status}\n"
            f"its log's end:\n{tail.stdout}{tail.stderr}"
        )

    current = eventually(restarted_and_ready, timeout=240, what=how_it_stands)
    assert current.metadata.uid == pod.metadata.uid
    last = current.status.container_statuses[0].last_state.terminated
    assert last is not None and last.exit_code == 137  # 128 + SIGKILL, as the kubelet reports
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids), "old workers survived"
    previous = connection.run_kubectl("logs", "-n", NS, pod.metadata.name, "--previous")
    assert previous.returncode == 0 and "KV cache size" in previous.stdout


def test_a_deleted_pod_ends_its_processes_and_is_replaced(serving):
    connection = serving
    pod = vllm_pod(connection)
    pids = vllm_processes(pod)
    assert pids
    grace = pod.spec.termination_grace_period_seconds
    connection.core.delete_namespaced_pod(pod.metadata.name, NS)
    eventually(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
        timeout=grace + 60,  # a hang guard; the bridge kills after the grace period
        what="the vLLM processes to end",
    )
    eventually(
        lambda: (
            vllm_pod(connection) is not None
            and vllm_pod(connection).metadata.uid != pod.metadata.uid
        ),
        timeout=30,
        what="the Deployment's replacement pod",
    )
