"""The vLLM pod on the simulated GPU node is a real vLLM server, reached the Kubernetes way."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from lightkube.resources.core_v1 import Pod

from tests.helpers import eventually
from tutorial_lib import completions, kube, wait
from tutorial_lib.local import cluster as local
from tutorial_lib.portforward import PortForward
from tutorial_lib.startup import parse_startup_log

OVERLAY = Path(__file__).resolve().parents[2] / "manifests" / "overlays" / "local"
NS = "ml-models"


def vllm_pod(connection: kube.Cluster) -> Pod | None:
    current = kube.pods(connection, NS, {"app": "vllm"})
    return current[0] if current else None


def ready(pod: Pod | None) -> bool:
    return pod is not None and kube.ready(pod)


def health_through_pod(connection: kube.Cluster, pod: Pod) -> bool:
    try:
        with PortForward(
            connection.kubectl, f"pod/{pod.metadata.name}", 8000, timeout=10
        ) as tunnel:
            return httpx.get(tunnel.url + "/health", timeout=5).status_code == 200
    except (httpx.HTTPError, kube.TutorialError):
        return False


@pytest.fixture(scope="module")
def connection(local_cluster) -> kube.Cluster:
    return kube.connect(local=True)


@pytest.fixture(scope="module")
def started(connection):
    """A fresh vLLM pod; records what the pod and /health said while it was starting."""
    existing = vllm_pod(connection)
    if existing is not None:
        connection.client.delete(Pod, existing.metadata.name, namespace=NS)
        eventually(
            lambda: (
                vllm_pod(connection) is None
                or vllm_pod(connection).metadata.uid != existing.metadata.uid
            ),
            timeout=60,
            what="the old vLLM pod to go",
        )
    kube.apply(connection, OVERLAY)
    running = eventually(
        lambda: (p := vllm_pod(connection)) is not None and p.status.phase == "Running" and p,
        timeout=120,
        what="the vLLM pod Running",
    )
    early = {"ready": ready(running), "health": health_through_pod(connection, running)}
    pod = wait.wait_ready(connection, timeout=300)
    return {"early": early, "pod": pod}


def vllm_processes(pod: Pod) -> list[int]:
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


def test_pod_is_not_ready_before_health_answers(started):
    assert started["early"] == {"ready": False, "health": False}
    assert ready(started["pod"])


def test_kubectl_logs_through_the_api_server_show_vllm_startup_figures(connection, started):
    proc = connection.run_kubectl("logs", "-n", NS, started["pod"].metadata.name)
    assert proc.returncode == 0, proc.stderr
    assert "KV cache size" in proc.stdout and "Maximum concurrency" in proc.stdout
    figures = parse_startup_log(proc.stdout)
    assert figures.kv_cache_tokens == 46_592  # 1 GiB of KV cache for SmolLM2, as computed
    assert figures.max_concurrency_tokens == 4096


def test_service_port_forward_serves_completions_chat_and_metrics(connection, started):
    with PortForward(connection.kubectl, "svc/vllm-service", 8000) as tunnel:
        completion = completions.complete(tunnel.url, "Kubernetes is", max_tokens=20)
        answer = completions.chat(
            tunnel.url, "What is Kubernetes? Answer in one sentence.", max_tokens=40
        )
        metrics = httpx.get(tunnel.url + "/metrics", timeout=10).text
    assert completion.text and completion.completion_tokens > 0 and completion.prompt_tokens > 0
    assert answer.text and answer.completion_tokens > 0
    assert answer.time_to_first_token <= answer.total_seconds
    assert "vllm:num_requests_running" in metrics


def test_killed_vllm_process_is_restarted_and_ready_again(connection, started):
    pod = vllm_pod(connection)
    pids = vllm_processes(pod)
    assert pids, "no vLLM process found for the pod"
    leader = os.getpgid(pids[0])  # the bridge starts each container in its own group
    os.kill(leader, signal.SIGKILL)  # the API server process only: its workers live on

    def restarted_and_ready() -> Pod | None:
        current = vllm_pod(connection)
        statuses = current.status.containerStatuses or []
        return current if ready(current) and statuses[0].restartCount == 1 else None

    current = eventually(restarted_and_ready, timeout=240, what="restartCount 1 and Ready")
    assert current.metadata.uid == pod.metadata.uid
    last = current.status.containerStatuses[0].lastState.terminated
    assert last is not None and last.exitCode == 137  # 128 + SIGKILL, as the kubelet reports
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids), "old workers survived"
    previous = connection.run_kubectl("logs", "-n", NS, pod.metadata.name, "--previous")
    assert previous.returncode == 0 and "KV cache size" in previous.stdout


def test_deleted_pod_ends_its_process_within_the_grace_period(connection, started):
    pod = vllm_pod(connection)
    pids = vllm_processes(pod)
    assert pids
    grace = pod.spec.terminationGracePeriodSeconds
    connection.client.delete(Pod, pod.metadata.name, namespace=NS)
    eventually(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
        timeout=grace + 10,
        what="the vLLM processes to end within the grace period",
    )
    eventually(
        lambda: (
            vllm_pod(connection) is not None
            and vllm_pod(connection).metadata.uid != pod.metadata.uid
        ),
        timeout=30,
        what="the Deployment's replacement pod",
    )
