"""tutorial_lib against the real API server: apply/delete, waits that explain, logs, smoke test."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
import yaml

import tutorial_lib as tl
from tests.cluster.conftest import GPU_TOLERATION, assert_no_node_for_14gi
from tests.helpers import eventually
from tutorial_lib.errors import PortForwardError
from tutorial_lib.kube import objects
from tutorial_lib.local.runtime import MODEL_ID
from tutorial_lib.serving import vllm_metrics

VLLM_IMAGE = "vllm/vllm-openai:v0.26.0"  # runs through the bridge, like the real one
SIMULATED_IMAGE = "busybox:1.36"  # kwok simulates it


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
        tolerations=[GPU_TOLERATION],
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
    assert connection.core.read_namespaced_config_map("settings", namespace).data == {"model": "b"}
    deleted = tl.delete(connection, path)
    assert list(deleted["deleted"]) == [True]
    left = connection.core.list_namespaced_config_map(
        namespace, field_selector="metadata.name=settings"
    )
    assert not left.items


def test_dry_run_creates_nothing(connection, namespace, tmp_path):
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}}
    config["metadata"]["namespace"] = namespace
    table = tl.apply(connection, write(tmp_path, config), dry_run=True)
    assert list(table["action"]) == ["would be created"]
    names = [c.metadata.name for c in connection.core.list_namespaced_config_map(namespace).items]
    assert "dry" not in names


def test_namespace_is_applied_before_what_lives_in_it(connection, tmp_path):
    name = f"test-order-{uuid.uuid4().hex[:8]}"
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


def test_wait_for_the_blogs_14gi_request_names_the_node_the_shortfall_and_karpenters_reason(
    connection, namespace, tmp_path, gpu_node
):
    tl.apply(connection, write(tmp_path, gpu_deployment("too-big", namespace, "14Gi")))
    with pytest.raises(tl.ClusterError) as failure:
        # gives up after 30 s Unschedulable, once Karpenter has said no node would fit
        tl.wait_ready(connection, "too-big", namespace, timeout=120)
    message = str(failure.value)
    assert "cannot become Ready" in message
    assert "Insufficient memory" in message
    assert f"{gpu_node}: requests 14.00 GiB memory" in message
    assert "13.79 GiB allocatable" in message
    assert "cpu-node-1: nodeSelector workload=gpu-vllm does not match" in message
    assert "NodePool gpu-vllm (Karpenter): Failed to schedule pod, " in message
    assert_no_node_for_14gi(message)


@pytest.mark.parametrize(
    "tolerations",
    [None, [{"key": "other", "operator": "Exists"}]],
    ids=["no toleration", "toleration for another key"],
)
def test_scheduling_table_shows_the_untolerated_taint(
    connection, namespace, tmp_path, tolerations, gpu_node
):
    manifest = gpu_deployment("no-toleration", namespace, "1Gi")
    manifest["spec"]["template"]["spec"]["tolerations"] = tolerations
    tl.apply(connection, write(tmp_path, manifest))
    pod = eventually_pod(connection, namespace, "no-toleration")
    table = tl.scheduling(connection, pod).set_index("node")
    assert not table.loc[gpu_node, "fits"]
    assert "taint nvidia.com/gpu=true:NoSchedule not tolerated" in table.loc[gpu_node, "why not"]


def eventually_pod(connection: tl.Connection, namespace: str, app: str):
    found = eventually(
        lambda: objects.pods(connection, namespace, {"app": app}), what=f"a pod for {app}"
    )
    return found[0]


#: A model name the cache does not hold: the real vLLM fails, offline, the way a typo does.
TYPO_MODEL = f"{MODEL_ID}-typo"
NO_SUCH_MODEL = "huggingface_hub.errors.LocalEntryNotFoundError"


def quotes_the_crash(message: str) -> bool:
    """The explanation's last log lines hold vLLM's error (prefixed ``(APIServer pid=N)``)."""
    _, _, log = message.partition("last log lines:\n")
    return any(line.startswith("  | ") and NO_SUCH_MODEL in line for line in log.splitlines())


def test_crash_loop_ends_the_wait_early_with_the_last_log_lines(connection, namespace, tmp_path):
    crashing = deployment("crasher", namespace, image=VLLM_IMAGE, container={"args": [TYPO_MODEL]})
    tl.apply(connection, write(tmp_path, crashing))
    with pytest.raises(tl.ClusterError) as failure:
        tl.wait_ready(connection, "crasher", namespace, timeout=240)
    message = str(failure.value)
    assert "cannot become Ready" in message  # the crash loop ended it, not the deadline
    assert "CrashLoopBackOff" in message
    assert "last exited with code 1 (Error)" in message
    assert quotes_the_crash(message), message


def test_scale_to_zero_and_back(connection, namespace, tmp_path):
    tl.apply(connection, write(tmp_path, deployment("web", namespace, image=SIMULATED_IMAGE)))
    first = tl.wait_ready(connection, "web", namespace, timeout=60)
    assert tl.scale(connection, 0, "web", namespace) == 1
    tl.wait_gone(connection, "web", namespace, timeout=60)
    assert objects.pods(connection, namespace, {"app": "web"}) == []
    with pytest.raises(tl.ClusterError, match="scaled to 0 replicas") as nothing_to_wait_for:
        tl.wait_ready(connection, "web", namespace, timeout=600)
    assert "--replicas=1" in str(nothing_to_wait_for.value), "the fix comes with the error"
    assert tl.scale(connection, 1, "web", namespace) == 0
    second = tl.wait_ready(connection, "web", namespace, timeout=60)
    assert second.name != first.name and second.name.startswith("web-")


def test_wait_ready_works_inside_a_running_event_loop(connection, namespace, tmp_path):
    """Jupyter runs cells inside an event loop; the waits must not need their own."""
    tl.apply(connection, write(tmp_path, deployment("looped", namespace, image=SIMULATED_IMAGE)))

    async def in_loop():
        return tl.wait_ready(connection, "looped", namespace, timeout=60)

    assert asyncio.run(in_loop()).name.startswith("looped-")


# --- the vLLM pod --------------------------------------------------------------------------


def test_logs_filter_and_stop_at_a_pattern(serving):
    lines = list(tl.logs(serving, grep="KV cache|concurrency", timeout=30))
    assert lines and all("KV cache" in line or "concurrency" in line for line in lines)
    until = list(tl.logs(serving, until=r"Starting vLLM", timeout=30))
    assert "Starting vLLM" in until[-1]


def test_show_logs_prints_live_and_returns_the_lines(serving, capsys):
    shown = tl.show_logs(serving, grep="KV cache", timeout=30)
    assert shown and capsys.readouterr().out.splitlines() == shown


def test_apply_names_a_missing_file_and_applies_a_folder_of_yml(connection, namespace, tmp_path):
    """The audit's M7 on the real API server: one line naming the file, and ``*.yml`` read."""
    with pytest.raises(tl.errors.ManifestError) as missing:
        tl.apply(connection, tmp_path / "no-such.yaml")
    assert "no-such.yaml" in missing.value.message
    folder = tmp_path / "manifests"
    folder.mkdir()
    meta = {"name": "from-a-yml", "namespace": namespace}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    assert list(tl.apply(connection, folder)["action"]) == ["created"]
    assert connection.core.read_namespaced_config_map("from-a-yml", namespace).data == {"a": "1"}


@pytest.mark.timeout(120)  # a follow that ignored its timeout would hang here
def test_following_a_quiet_log_with_a_timeout_returns_without_lines(serving):
    lines = list(tl.logs(serving, follow=True, since=1, grep="no line matches this", timeout=3))
    assert lines == []


def test_chat_through_port_forward_and_metrics_count_its_tokens(serving):
    with tl.port_forward(serving) as tunnel:
        before = tl.metrics(tunnel.url)
        answer = tl.chat(tunnel.url, "Name one Kubernetes object.", max_tokens=16)
        after = tl.metrics(tunnel.url)

    def grew(name: str) -> float:
        return vllm_metrics.value(after, name) - vllm_metrics.value(before, name)

    assert answer.completion_tokens > 0
    assert grew("vllm:generation_tokens_total") >= answer.completion_tokens
    assert grew("vllm:time_to_first_token_seconds_count") >= 1  # the chat's first token
    # the blog's name resolves to the current one
    old, new = "vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"
    assert vllm_metrics.value(after, old) == vllm_metrics.value(after, new)


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


def test_smoke_test_fails_loudly_without_a_pod(connection, namespace, tmp_path):
    """A Deployment scaled to zero, as notebook 07 leaves it: the first check fails.

    In a namespace of its own: scaling the tutorial's vLLM to zero would cost every later
    test a vLLM start.
    """
    scaled_to_zero = deployment("vllm", namespace, image=SIMULATED_IMAGE)
    scaled_to_zero["spec"]["replicas"] = 0
    tl.apply(connection, write(tmp_path, scaled_to_zero))
    checks = smoke(connection, namespace, deployment="vllm", service="vllm-service")
    assert checks["vLLM pod Running and Ready"].startswith("failed:"), checks


def closed_url() -> str:
    """An address where nothing listens: Prometheus is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def smoke(connection: tl.Connection, namespace: str, **names: str) -> dict[str, str]:
    """The smoke test's verdicts by check; it must return a report, never raise."""
    report = tl.smoke_test(connection, namespace=namespace, prometheus_url=closed_url(), **names)
    assert not report.passed
    return {c.name: f"{c.status}: {c.detail}" for c in report.checks}


def test_smoke_test_reports_a_deleted_deployment_without_raising(connection, namespace):
    checks = smoke(connection, namespace, deployment="vllm", service="vllm-service")
    assert checks["vLLM pod Running and Ready"].startswith("failed: There is no Deployment")
    assert checks["Service has endpoints"].startswith("failed: vllm-service has no ready")
    assert checks["/health through the Service"].startswith("failed: port-forward failed")
    assert checks["Prometheus scrapes vLLM"].startswith("failed: No Prometheus answers")


def test_smoke_test_reports_a_service_without_endpoints(connection, namespace, tmp_path):
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lonely", "namespace": namespace},
        "spec": {"selector": {"app": "nobody"}, "ports": [{"name": "http", "port": 8000}]},
    }
    tl.apply(connection, write(tmp_path, service))
    checks = smoke(connection, namespace, deployment="nobody", service="lonely")
    assert checks["Service has endpoints"].startswith("failed: lonely has no ready endpoint")
    assert checks["a completion"].startswith("failed:")


def test_smoke_test_reports_the_local_port_in_use(serving):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        report = tl.smoke_test(serving, local_port=port)
    checks = {c.name: f"{c.status}: {c.detail}" for c in report.checks}
    assert not report.passed
    assert checks["vLLM pod Running and Ready"].startswith("passed")
    assert "already in use" in checks["/health through the Service"]


# --- a reader's leftovers: RollingUpdate on top of the tutorial's Recreate ------------------


def gpu_app(namespace: str, node_label: str, **strategy: object) -> dict:
    """A Deployment holding the one GPU of the node ``workload=<node_label>``, like vLLM."""
    manifest = gpu_deployment("gpu-app", namespace, "1Gi")
    pod = manifest["spec"]["template"]["spec"]
    pod["nodeSelector"] = {"workload": node_label}
    container = pod["containers"][0]
    container["resources"]["requests"]["nvidia.com/gpu"] = "1"
    container["resources"]["limits"] = {"nvidia.com/gpu": "1"}
    manifest["spec"]["strategy"] = strategy
    return manifest


def test_apply_recovers_from_a_rolling_update_left_by_kubectl_and_wait_names_the_holder(
    connection, namespace, tmp_path, static_gpu_node
):
    ours = tmp_path / "ours.yaml"
    ours.write_text(yaml.safe_dump(gpu_app(namespace, static_gpu_node, type="Recreate")))
    tl.apply(connection, ours)
    holder = tl.wait_ready(connection, "gpu-app", namespace, timeout=60)

    # The reader applies their own file: default strategy, a changed template.
    theirs = gpu_app(namespace, static_gpu_node, type="RollingUpdate")
    theirs["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "2"}]
    proc = connection.run_kubectl("apply", "-f", "-", input=yaml.safe_dump(theirs))
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(tl.ClusterError) as stuck:
        tl.wait_ready(connection, "gpu-app", namespace, timeout=120)
    message = str(stuck.value)
    assert f"held by {namespace}/{holder.name}" in message
    assert "older pod of the same Deployment" in message and "Recreate" in message

    table = tl.apply(connection, ours)  # the tutorial's manifest again: must not be refused
    assert list(table["action"]) == ["configured"]
    back = tl.wait_ready(connection, "gpu-app", namespace, timeout=120)
    assert back.name == holder.name, "apply stopped the running pod to end a stuck rollout"
    live = tl.get(connection, "deployment/gpu-app", namespace)
    assert live["spec"]["strategy"] == {"type": "Recreate"}


def test_plain_kubectl_apply_would_be_refused_where_tl_apply_succeeds(
    connection, namespace, tmp_path
):
    """The failure the issue reported, reproduced with kubectl alone: why apply clears it."""
    theirs = gpu_deployment("plain", namespace, "1Gi")
    theirs["spec"]["strategy"] = {"type": "RollingUpdate"}
    assert connection.run_kubectl("apply", "-f", "-", input=yaml.safe_dump(theirs)).returncode == 0
    ours = dict(theirs, spec={**theirs["spec"], "strategy": {"type": "Recreate"}})
    path = write(tmp_path, ours)
    refused = connection.run_kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=vllm-tutorial",
        "-f",
        str(path),
    )
    assert refused.returncode != 0
    assert "may not be specified when strategy `type` is 'Recreate'" in refused.stderr or (
        "rollingUpdate" in refused.stderr and "Forbidden" in refused.stderr
    )
    assert list(tl.apply(connection, path)["action"]) == ["configured"]


# --- troubleshooting: break a live object, read why, repair (notebook 08) -----------------


def service(name: str, namespace: str, app: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 80}]},
    }


def test_a_patched_node_selector_is_refused_and_apply_repairs_it(connection, namespace, tmp_path):
    """Apply puts back what the manifest sets (server-side apply with force)."""
    linux = deployment(
        "labelled", namespace, image=SIMULATED_IMAGE, nodeSelector={"kubernetes.io/os": "linux"}
    )
    manifest = write(tmp_path, linux)
    tl.apply(connection, manifest)
    tl.wait_ready(connection, "labelled", namespace, timeout=60)
    typo = {"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linx"}}}}}
    after = tl.patch(connection, "deploy/labelled", typo, namespace)
    assert after["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linx"}
    pending = tl.wait_pending(connection, "labelled", namespace, timeout=60)
    assert "nodeSelector kubernetes.io/os=linx does not match" in tl.explain(connection, pending)
    tl.apply(connection, manifest)
    assert tl.wait_ready(connection, "labelled", namespace, timeout=60).ready


def test_a_service_whose_selector_matches_no_pod_is_explained(connection, namespace, tmp_path):
    tl.apply(
        connection,
        write(
            tmp_path,
            deployment("web", namespace, image=SIMULATED_IMAGE),
            service("web", namespace, app="wbe"),
        ),
    )
    tl.wait_ready(connection, "web", namespace, timeout=60)
    assert tl.wait_endpoints(connection, present=False, service="web", namespace=namespace) == []
    story = tl.explain(connection, "service/web", namespace)
    assert "selects app=wbe, and no pod in" in story and "app=web" in story, story
    tl.patch(connection, "svc/web", {"spec": {"selector": {"app": "web"}}}, namespace)
    assert tl.wait_endpoints(connection, service="web", namespace=namespace)
    assert "ready endpoint(s) web-" in tl.explain(connection, "service/web", namespace)


def test_a_service_whose_pods_are_not_ready_says_where_they_are(connection, namespace, tmp_path):
    stuck = deployment(
        "stuck", namespace, image=SIMULATED_IMAGE, nodeSelector={"workload": "nowhere"}
    )
    tl.apply(connection, write(tmp_path, stuck, service("stuck", namespace, app="stuck")))
    tl.wait_pending(connection, "stuck", namespace, timeout=60)
    story = tl.explain(connection, "service/stuck", namespace)
    assert "selects app=stuck: 1 pod(s), none Ready yet" in story, story
    assert "Pending, not scheduled: 0/" in story and "nodes are available" in story, story


def test_a_wait_that_runs_out_of_time_says_where_the_pod_is(connection, namespace, tmp_path):
    """Not just "waited 5 s in vain": the reader learns what the pod is doing instead."""
    stuck = deployment("idle", namespace, image=SIMULATED_IMAGE, nodeSelector={"workload": "none"})
    tl.apply(connection, write(tmp_path, stuck))
    with pytest.raises(tl.ClusterError, match="waited 5 s for its pod to crash, in vain") as waited:
        tl.wait_crashing(connection, "idle", namespace, timeout=5)
    assert "Pending, not scheduled" in str(waited.value), waited.value


def test_wait_scheduled_names_the_node_or_says_at_once_why_none_will_come(
    connection, namespace, tmp_path
):
    placed = deployment("placed", namespace, image=SIMULATED_IMAGE)
    tl.apply(connection, write(tmp_path, placed))
    assert tl.wait_scheduled(connection, "placed", namespace, timeout=60).node == "cpu-node-1"
    selector = {"workload": "nowhere"}
    nowhere = deployment("nowhere", namespace, image=SIMULATED_IMAGE, nodeSelector=selector)
    tl.apply(connection, write(tmp_path, nowhere))
    with pytest.raises(tl.ClusterError, match="stays Pending") as refused:
        tl.wait_scheduled(connection, "nowhere", namespace, timeout=240)
    assert "nodeSelector workload=nowhere does not match" in str(refused.value), refused.value


def test_a_custom_object_is_read_and_patched_like_a_built_in_one(connection, namespace, tmp_path):
    monitor = {
        "apiVersion": f"{tl.names.MONITORING_GROUP}/{tl.names.MONITORING_VERSION}",
        "kind": "ServiceMonitor",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http"}]},
    }
    tl.apply(connection, write(tmp_path, monitor))
    tl.patch(connection, "servicemonitor/probe", {"spec": {"jobLabel": "app"}}, namespace)
    assert tl.get(connection, "servicemonitor/probe", namespace)["spec"]["jobLabel"] == "app"
    with pytest.raises(tl.TutorialError, match=r"tl\.patch cannot handle 'ingress'"):
        tl.patch(connection, "ingress/web", {}, namespace)


def test_wait_crashing_returns_the_crashing_pod_and_refuses_a_healthy_one(
    connection, namespace, tmp_path
):
    crasher = deployment(
        "crasher2",
        namespace,
        image=VLLM_IMAGE,
        container={"args": [TYPO_MODEL]},
    )
    healthy = deployment("healthy", namespace, image=SIMULATED_IMAGE)
    tl.apply(connection, write(tmp_path, crasher, healthy))
    crashing = tl.wait_crashing(connection, "crasher2", namespace, timeout=240)
    assert quotes_the_crash(tl.explain(connection, crashing))
    # What notebook 08 runs, and the blog: the crashed container's log, during the back-off.
    previous = connection.run_kubectl(
        "logs", "-n", namespace, crashing.name, "--previous", "--tail=4"
    )
    assert previous.returncode == 0 and NO_SUCH_MODEL in previous.stdout, previous.stderr
    with pytest.raises(tl.ClusterError, match="became Ready; the lesson expected it to crash"):
        tl.wait_crashing(connection, "healthy", namespace, timeout=60)


def test_kubectl_shows_the_command_and_its_output_errors_included(connection, namespace):
    listed = tl.kubectl(connection, "get", "pods", "-n", namespace)
    assert listed.startswith(f"$ kubectl get pods -n {namespace}\n")
    assert "No resources found" in listed
    refused = tl.kubectl(connection, "get", "nosuchkind")
    assert "error" in refused.lower() and refused.endswith("(exit code 1)")
    assert repr(refused) == str(refused), "shown as a terminal shows it, without quotes"


def test_a_container_above_its_memory_limit_is_oom_killed(connection, namespace, tmp_path):
    """The bridge holds a pod's memory limit as a kubelet's cgroup does: vLLM needs more
    than 200Mi to import itself."""
    small = deployment("small", namespace, image=VLLM_IMAGE, container={"args": [MODEL_ID]})
    small["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = {"memory": "200Mi"}
    tl.apply(connection, write(tmp_path, small))
    with pytest.raises(tl.ClusterError) as failure:
        tl.wait_ready(connection, "small", namespace, timeout=240)
    message = str(failure.value)
    assert "CrashLoopBackOff" in message
    assert "last exited with code 137 (OOMKilled)" in message
    assert "is above the limit of 200 MiB: killed (OOMKilled)" in message
