"""tutorial_lib against the real API server: apply/delete, waits that explain, logs, smoke test."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
import yaml
from lightkube.resources.core_v1 import ConfigMap

import tutorial_lib as tl
from tutorial_lib import completions, vllm_metrics
from tutorial_lib.portforward import PortForwardError

VLLM_IMAGE = "vllm/vllm-openai:v0.14.1-cu130"  # runs through the bridge, like the real one
SIMULATED_IMAGE = "busybox:1.36"  # kwok simulates it


@pytest.fixture(scope="module")
def connection(local_cluster) -> tl.Cluster:
    return tl.connect(local=True)


@pytest.fixture(scope="module")
def serving(connection) -> tl.Cluster:
    """The tutorial's vLLM Deployment applied and Ready (reused when it already is)."""
    tl.apply(connection, tl.overlay("local"))
    tl.wait_ready(connection, timeout=300)
    return connection


def deployment(name: str, namespace: str, *, image: str, memory: str = "64Mi", **pod) -> dict:
    container = {
        "name": "main",
        "image": image,
        "resources": {"requests": {"memory": memory, "cpu": "100m"}},
        **pod.pop("container", {}),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **pod},
            },
        },
    }


def write(tmp_path: Path, *objects: dict) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


def gpu_deployment(name: str, namespace: str, memory: str) -> dict:
    return deployment(
        name,
        namespace,
        image=SIMULATED_IMAGE,
        memory=memory,
        nodeSelector={"workload": "gpu-vllm"},  # the blog's node group label and taint
        tolerations=[
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
        ],
    )


# --- apply / delete ------------------------------------------------------------------------


def test_apply_reports_created_unchanged_configured_and_delete_removes(
    connection, namespace, tmp_path
):
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"model": "a"},
    }
    path = write(tmp_path, config)
    assert list(tl.apply(connection, path)["action"]) == ["created"]
    assert list(tl.apply(connection, path)["action"]) == ["unchanged"]
    config["data"]["model"] = "b"
    write(tmp_path, config)
    assert list(tl.apply(connection, path)["action"]) == ["configured"]
    assert connection.client.get(ConfigMap, "settings", namespace=namespace).data == {"model": "b"}
    deleted = tl.delete(connection, path)
    assert list(deleted["deleted"]) == [True]
    assert not list(
        connection.client.list(ConfigMap, namespace=namespace, fields={"metadata.name": "settings"})
    )


def test_dry_run_creates_nothing(connection, namespace, tmp_path):
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}}
    config["metadata"]["namespace"] = namespace
    table = tl.apply(connection, write(tmp_path, config), dry_run=True)
    assert list(table["action"]) == ["would be created"]
    names = [c.metadata.name for c in connection.client.list(ConfigMap, namespace=namespace)]
    assert "dry" not in names


def test_namespace_is_applied_before_what_lives_in_it(connection, tmp_path):
    name = f"test-order-{int(time.time())}"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": name}}
    space = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    path = write(tmp_path, config, space)  # the namespace comes last in the file
    try:
        table = tl.apply(connection, path)
        assert list(table["kind"]) == ["Namespace", "ConfigMap"]
    finally:
        assert list(tl.delete(connection, path, wait=False)["kind"]) == ["ConfigMap", "Namespace"]


def test_unknown_field_is_named_by_the_server(connection, namespace, tmp_path):
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dta": {}}
    config["metadata"]["namespace"] = namespace
    with pytest.raises(tl.ClusterError, match=r"/x; .*\.dta: field not declared in schema"):
        tl.apply(connection, write(tmp_path, config))


# --- waits that explain -------------------------------------------------------------------


def test_wait_for_the_blogs_14gi_request_names_the_node_and_the_shortfall(
    connection, namespace, tmp_path
):
    tl.apply(connection, write(tmp_path, gpu_deployment("too-big", namespace, "14Gi")))
    with pytest.raises(tl.ClusterError) as failure:
        tl.wait_ready(connection, "too-big", namespace, timeout=20)
    message = str(failure.value)
    assert "Insufficient memory" in message
    assert "gpu-node-1: requests 14.00 GiB memory" in message
    assert "13.79 GiB allocatable" in message
    assert "cpu-node-1: nodeSelector workload=gpu-vllm does not match" in message


@pytest.mark.parametrize(
    "tolerations",
    [None, [{"key": "other", "operator": "Exists"}]],
    ids=["no toleration", "toleration for another key"],
)
def test_scheduling_table_shows_the_untolerated_taint(connection, namespace, tmp_path, tolerations):
    manifest = gpu_deployment("no-toleration", namespace, "1Gi")
    manifest["spec"]["template"]["spec"]["tolerations"] = tolerations
    tl.apply(connection, write(tmp_path, manifest))
    pod = eventually_pod(connection, namespace, "no-toleration")
    table = tl.scheduling(connection, pod).set_index("node")
    assert not table.loc["gpu-node-1", "fits"]
    assert (
        "taint nvidia.com/gpu=true:NoSchedule not tolerated" in table.loc["gpu-node-1", "why not"]
    )


def eventually_pod(connection: tl.Cluster, namespace: str, app: str):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if found := tl.pods(connection, namespace, {"app": app}):
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no pod for {app}")


def test_crash_loop_ends_the_wait_early_with_the_last_log_lines(connection, namespace, tmp_path):
    crashing = deployment(
        "crasher",
        namespace,
        image=VLLM_IMAGE,
        container={
            "command": ["sh", "-c", "echo loading the model; echo 'CUDA out of memory'; exit 3"]
        },
    )
    tl.apply(connection, write(tmp_path, crashing))
    started = time.monotonic()
    with pytest.raises(tl.ClusterError) as failure:
        tl.wait_ready(connection, "crasher", namespace, timeout=240)
    message = str(failure.value)
    assert "cannot become Ready" in message
    assert "CrashLoopBackOff" in message
    assert "last exited with code 3" in message
    assert "| CUDA out of memory" in message
    assert time.monotonic() - started < 240  # ended by the crash loop, not by the deadline


def test_scale_to_zero_and_back(connection, namespace, tmp_path):
    tl.apply(connection, write(tmp_path, deployment("web", namespace, image=SIMULATED_IMAGE)))
    tl.wait_ready(connection, "web", namespace, timeout=60)
    assert tl.scale(connection, 0, "web", namespace) == 1
    tl.wait_gone(connection, "web", namespace, timeout=60)
    assert tl.pods(connection, namespace, {"app": "web"}) == []
    assert tl.scale(connection, 1, "web", namespace) == 0
    pod = tl.wait_ready(connection, "web", namespace, timeout=60)
    assert tl.ready(pod)


def test_wait_ready_works_inside_a_running_event_loop(connection, namespace, tmp_path):
    """Jupyter runs cells inside an event loop; the waits must not need their own."""
    tl.apply(connection, write(tmp_path, deployment("looped", namespace, image=SIMULATED_IMAGE)))

    async def in_loop():
        return tl.wait_ready(connection, "looped", namespace, timeout=60)

    assert tl.ready(asyncio.run(in_loop()))


# --- the vLLM pod --------------------------------------------------------------------------


def test_logs_filter_and_stop_at_a_pattern(serving):
    lines = list(tl.logs(serving, grep="KV cache|concurrency", timeout=30))
    assert lines and all("KV cache" in line or "concurrency" in line for line in lines)
    until = list(tl.logs(serving, until=r"Starting vLLM", timeout=30))
    assert "Starting vLLM" in until[-1]


def test_show_logs_prints_live_and_returns_the_lines(serving, capsys):
    shown = tl.show_logs(serving, grep="KV cache", timeout=30)
    assert shown and capsys.readouterr().out.splitlines() == shown


def test_following_a_quiet_log_ends_at_the_timeout(serving):
    started = time.monotonic()
    lines = list(tl.logs(serving, follow=True, since=1, grep="no line matches this", timeout=3))
    assert lines == []
    assert time.monotonic() - started < 20  # returned without a line arriving


def test_chat_through_port_forward_and_metrics_count_its_tokens(serving):
    with tl.port_forward(serving) as tunnel:
        before = vllm_metrics.value(tl.metrics(tunnel.url), "vllm:generation_tokens_total")
        answer = tl.chat(tunnel.url, "Name one Kubernetes object.", max_tokens=16)
        after = tl.metrics(tunnel.url)
    assert answer.completion_tokens > 0
    assert (
        vllm_metrics.value(after, "vllm:generation_tokens_total")
        >= before + answer.completion_tokens
    )
    ttft = tl.histogram_quantile(after, "vllm:time_to_first_token_seconds", 0.5)
    assert 0 < ttft < 60
    # the blog's name resolves to the current one
    assert vllm_metrics.value(after, "vllm:gpu_cache_usage_perc") >= 0


def test_port_already_in_use_is_refused_with_a_hint(serving):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with (
            pytest.raises(PortForwardError, match="already in use"),
            tl.port_forward(serving, local_port=port),
        ):
            pass


def test_request_before_the_server_listens_gives_up_with_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening
        with pytest.raises(completions.NotReadyError, match="did not answer /health"):
            completions.wait_until_serving(url, attempts=3, delay=0.1)


def test_smoke_test_passes_on_the_local_vllm(serving):
    report = tl.smoke_test(serving)
    assert report.passed, str(report)
    statuses = dict(zip(report.to_frame()["name"], report.to_frame()["status"], strict=True))
    assert list(statuses)[:4] == [
        "vLLM pod Running and Ready",
        "Service has endpoints",
        "/health through the Service",
        "a completion",
    ]
    assert all(status == "passed" for status in list(statuses.values())[:4])


def test_smoke_test_fails_loudly_without_a_pod(serving):
    tl.scale(serving, 0)
    try:
        tl.wait_gone(serving, timeout=60)
        report = tl.smoke_test(serving)
        assert not report.passed
        assert report.checks[0].status == "failed"
    finally:
        tl.apply(serving, tl.overlay("local"))
