"""tl.preflight against the real API server, in the cluster states a reader's cluster can be in.

Each state is made without disturbing the tutorial's objects or other tests: temporary
kwok nodes of a group of their own (``nodes=`` selects only them), tainted so that no other
pod lands on them, checked against a copy of the manifests whose Deployment selects and
tolerates that group (``target=``); a test namespace for quotas, ServiceMonitors and a
device plugin; a temporary Prometheus CRD. All removed afterwards.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client

import tutorial_lib as tl
from tests.helpers import eventually
from tutorial_lib import names
from tutorial_lib.kube import preflight as pf
from tutorial_lib.kube.connection import from_kubeconfig
from tutorial_lib.local import cluster as local_cluster
from tutorial_lib.local import paths

OK, WARNING, PROBLEM = pf.OK, pf.WARNING, pf.PROBLEM
BLOG_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def statuses(report: pf.Preflight) -> dict[str, str]:
    return {f.check: f.status for f in report.findings}


def reported(make: Callable[[], pf.Preflight], check: str, status: str, what: str) -> pf.Preflight:
    """The first report whose ``check`` has ``status`` (controllers update status a bit later)."""

    def probe() -> pf.Preflight | None:
        report = make()
        return report if report[check].status == status else None

    return eventually(probe, timeout=30, what=what)


@dataclass
class NodeGroup:
    """Temporary simulated nodes, and manifests whose Deployment wants exactly them."""

    name: str
    target: Path
    make: Callable[..., str]

    @property
    def selector(self) -> str:
        return f"preflight-test={self.name}"


@pytest.fixture
def node_group(connection, tmp_path) -> Iterator[NodeGroup]:
    """Nodes labelled ``workload=<group>`` where the blog has ``workload=gpu-vllm``.

    Every node carries the taint ``preflight-test=<group>:NoSchedule`` as well: no pod of
    another test lands on it, only the test's Deployment (which tolerates it) would.
    """
    group = f"preflight-{uuid.uuid4().hex[:6]}"
    own_taint = {"key": "preflight-test", "value": group, "effect": "NoSchedule"}
    objects = tl.render(connection.overlay)
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    pod["nodeSelector"] = {"workload": group}
    pod["tolerations"].append(own_taint | {"operator": "Equal"})
    target = tmp_path / "manifests.yaml"
    target.write_text(yaml.safe_dump_all(objects))
    made: list[str] = []

    def make(
        suffix: str, *, gpus: str | None = "1", label: bool, taint: bool, labels: dict | None = None
    ) -> str:
        name = f"{group}-{suffix}"
        allocatable = {"cpu": "3920m", "memory": "14119Mi", "pods": "110"}
        if gpus is not None:
            allocatable[names.GPU_RESOURCE] = gpus
        node_labels = {"type": "kwok", "preflight-test": group, **(labels or {})}
        if label:
            node_labels["workload"] = group
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": node_labels,
            },
            "spec": {"taints": [own_taint, *([BLOG_TAINT] if taint else [])]},
            "status": {"allocatable": allocatable, "capacity": allocatable},
        }
        connection.core.create_node(node)
        made.append(name)

        def usable() -> bool:
            """Ready, and the node controller has lifted its not-ready taint (it lags)."""
            node = connection.core.read_node(name)
            ready = any(
                c.type == "Ready" and c.status == "True" for c in node.status.conditions or []
            )
            lifecycle = {t.key for t in node.spec.taints or []} & LIFECYCLE_TAINTS
            return ready and not lifecycle

        eventually(usable, timeout=60, what=f"kwok to report {name} Ready, untainted")
        return name

    yield NodeGroup(group, target, make)
    for name in made:
        connection.core.delete_node(name)


@pytest.fixture
def as_on_eks(connection) -> tl.Connection:
    """The same cluster as a plain kubeconfig context, not as the local cluster: the EKS path.

    (``tl.connect`` would recognise the local cluster's server and treat it as local.)
    """
    remote = from_kubeconfig(paths.kubeconfig_path(), local_cluster.CONTEXT)
    assert not remote.local
    return remote


# --- state 1: the local cluster as `up` makes it --------------------------------------------


def apply_monitoring(connection: tl.Connection, tmp_path) -> None:
    """The tutorial's ServiceMonitor and PrometheusRule as the manifests have them now.

    Without this, a copy applied before the release label existed leaves a warning behind.
    """
    wanted = ("Namespace", "ServiceMonitor", "PrometheusRule")
    objects = [*tl.render(connection.overlay), *tl.render(tl.monitoring.MONITORING)]
    path = tmp_path / "monitoring-objects.yaml"
    path.write_text(yaml.safe_dump_all([o for o in objects if o["kind"] in wanted]))
    tl.apply(connection, path)


def test_the_local_cluster_has_everything_the_tutorial_needs(connection, tmp_path):
    apply_monitoring(connection, tmp_path)
    report = tl.preflight(connection)
    assert report.ok, str(report)
    assert statuses(report) == {
        pf.MONITOR_SELECTED: OK,
        pf.RULE_SELECTED: OK,
        pf.GPU_NODE: OK,
        pf.NODE_LABEL: OK,
        pf.NODE_TAINT: OK,
        pf.DEVICE_PLUGIN: OK,
        pf.DRIVER: OK,
        pf.MONITOR_CRD: OK,
        pf.RULE_CRD: OK,
        pf.NETWORK_POLICY: WARNING,  # no pod network: notebook 02's policy engine instead
        pf.QUOTA: OK,
    }
    gpu = report[pf.GPU_NODE].finding
    launched = any(n["GPUs"] for _, n in tl.nodes(connection).iterrows())
    if launched:  # a node Karpenter launched for an earlier test is still there
        assert "(simulated): 1 x nvidia.com/gpu (NVIDIA-L4)" in gpu, gpu
    else:
        assert "Karpenter launches one when the vLLM pod is Pending" in gpu, gpu
        assert "NodePool gpu-vllm (g6.xlarge, at most 2 x nvidia.com/gpu)" in gpu, gpu
    assert "Simulated" in report[pf.DEVICE_PLUGIN].finding
    frame = report.to_frame()
    assert list(frame["check"]) == list(pf.CHECKS)


def test_the_applied_servicemonitor_with_its_label_is_selected(connection, tmp_path):
    """Applied from the overlay (its Namespace and ServiceMonitor only: a no-op if there)."""
    wanted = ("Namespace", "ServiceMonitor")
    path = tmp_path / "servicemonitor.yaml"
    path.write_text(
        yaml.safe_dump_all([o for o in tl.render(connection.overlay) if o["kind"] in wanted])
    )
    tl.apply(connection, path)
    report = tl.preflight(connection)
    assert report[pf.MONITOR_SELECTED].status == OK, str(report)
    assert "release=kube-prometheus-stack" in report[pf.MONITOR_SELECTED].finding


# --- states 2-4: GPU nodes without the label or taint, without GPUs, none at all ------------


LIFECYCLE_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


def gpu_rows(report: pf.Preflight) -> tuple[str, str, str]:
    return report[pf.GPU_NODE].status, report[pf.NODE_LABEL].status, report[pf.NODE_TAINT].status


def test_a_gpu_node_without_the_blogs_label_and_taint(connection, node_group):
    node = node_group.make("gpu", label=False, taint=False)  # a GPU, but no label, no taint
    report = tl.preflight(connection, target=node_group.target, nodes=node_group.selector)
    assert gpu_rows(report) == (OK, PROBLEM, WARNING), str(report)
    assert report[pf.NODE_LABEL].fix.startswith(f"kubectl label node {node} workload=")
    assert "lacks the taint nvidia.com/gpu=true:NoSchedule" in report[pf.NODE_TAINT].finding
    assert not report.ok


def test_a_labelled_and_tainted_node_that_advertises_no_gpu(connection, node_group):
    node_group.make("nogpu", gpus=None, label=True, taint=True)
    report = tl.preflight(connection, target=node_group.target, nodes=node_group.selector)
    assert report[pf.GPU_NODE].status == PROBLEM, str(report)
    assert "advertises no nvidia.com/gpu" in report[pf.GPU_NODE].finding


def test_the_blogs_node_group_made_anew_passes(connection, node_group):
    node_group.make("l4", label=True, taint=True)
    report = tl.preflight(connection, target=node_group.target, nodes=node_group.selector)
    assert gpu_rows(report) == (OK, OK, OK), str(report)


def test_no_gpu_node_at_all(connection, as_on_eks):
    """Locally a problem; on EKS a warning (a node group at min size 0 adds one on demand)."""
    nowhere = "preflight-test=no-such-group"
    assert tl.preflight(connection, nodes=nowhere)[pf.GPU_NODE].status == PROBLEM
    remote = tl.preflight(as_on_eks, nodes=nowhere)
    assert remote[pf.GPU_NODE].status == WARNING and "min size 0" in remote[pf.GPU_NODE].finding
    assert remote[pf.DEVICE_PLUGIN].status == WARNING  # no plugin, nothing to tell by


# --- state 5: the driver as GPU feature discovery labels it (EKS path) ----------------------


def test_a_driver_too_old_for_cuda_13(as_on_eks, node_group):
    gfd = {
        "nvidia.com/cuda.driver-version.major": "570",
        "nvidia.com/cuda.driver-version.full": "570.172.08",
        "nvidia.com/cuda.runtime-version.major": "12",
        "nvidia.com/cuda.runtime-version.minor": "8",
    }
    node_group.make("old-driver", label=True, taint=True, labels=gfd)
    target, selector = node_group.target, node_group.selector
    report = tl.preflight(as_on_eks, target=target, nodes=selector)
    assert report[pf.DRIVER].status == PROBLEM, str(report)
    assert "driver 570.172.08 (CUDA 12.8)" in report[pf.DRIVER].finding
    # Without GPU feature discovery's labels the version is unknown, with how to look.
    node_group.make("no-labels", label=True, taint=True)
    without = f"{selector},!nvidia.com/cuda.driver-version.major"
    unknown = tl.preflight(as_on_eks, target=target, nodes=without)
    assert unknown[pf.DRIVER].status == WARNING and "nvidia-smi" in unknown[pf.DRIVER].fix


# --- state 6: a device plugin DaemonSet ---------------------------------------------------------


def test_a_device_plugin_daemonset_is_found_and_judged(connection, namespace, node_group):
    selector = node_group.selector
    key, _, group = selector.partition("=")
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "nvidia-device-plugin-daemonset", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"name": "nvidia-device-plugin"}},
            "template": {
                "metadata": {"labels": {"name": "nvidia-device-plugin"}},
                "spec": {
                    "nodeSelector": {key: group},
                    "tolerations": [{"operator": "Exists"}],  # the group's taints too
                    "containers": [{"name": "plugin", "image": "busybox:1.36"}],
                },
            },
        },
    }
    apps = connection.apps
    apps.create_namespaced_daemon_set(namespace, daemonset)
    found = f"{namespace}/nvidia-device-plugin-daemonset"
    try:
        # No node of its group yet: it runs nowhere.
        idle = reported(
            lambda: tl.preflight(connection, nodes=selector),
            pf.DEVICE_PLUGIN,
            WARNING,
            "the idle device plugin reported",
        )
        assert f"{found} (0/0 ready): it runs on no node" in idle[pf.DEVICE_PLUGIN].finding
        node_group.make("gpu", label=True, taint=True)
        running = reported(
            lambda: tl.preflight(connection, nodes=selector),
            pf.DEVICE_PLUGIN,
            OK,
            "the device plugin's pod Ready on the new node",
        )
        assert f"{found} (1/1 ready)" in running[pf.DEVICE_PLUGIN].finding
    finally:  # gone before the next test looks for device plugins
        apps.delete_namespaced_daemon_set("nvidia-device-plugin-daemonset", namespace)
        eventually(
            lambda: not apps.list_namespaced_daemon_set(namespace).items,
            what="the test's device plugin deleted",
        )


# --- state 7: a namespace quota -----------------------------------------------------------------


def test_a_resourcequota_too_small_for_the_pod_and_one_with_room(connection, namespace):
    assert tl.preflight(connection, namespace)[pf.QUOTA].status == OK  # none yet
    quota = client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="team"),
        spec=client.V1ResourceQuotaSpec(
            hard={"requests.memory": "8Gi", "requests.nvidia.com/gpu": "1", "pods": "10"}
        ),
    )
    connection.core.create_namespaced_resource_quota(namespace, quota)
    small = tl.preflight(connection, namespace)
    assert small[pf.QUOTA].status == PROBLEM, str(small)
    assert "team requests.memory: 8.00 GiB free, the pod needs 12.00 GiB" in small[pf.QUOTA].finding
    connection.core.patch_namespaced_resource_quota(
        "team", namespace, {"spec": {"hard": {"requests.memory": "16Gi"}}}
    )
    roomy = reported(
        lambda: tl.preflight(connection, namespace), pf.QUOTA, OK, "the raised quota reported"
    )
    assert "team requests.memory: 16.00 GiB free" in roomy[pf.QUOTA].finding


# --- state 8: a ServiceMonitor the local Prometheus does not select -----------------------------


def unlabelled(objects: list[dict]) -> list[dict]:
    """The rendered objects without the component's release label."""
    stripped = copy.deepcopy(objects)
    for obj in stripped:
        obj["metadata"].get("labels", {}).pop(names.PROMETHEUS_RELEASE_LABEL, None)
    return stripped


def test_a_servicemonitor_without_the_release_label(connection, namespace, tmp_path):
    overlay = tl.render(connection.overlay)
    plain = tmp_path / "without-release.yaml"
    plain.write_text(yaml.safe_dump_all(unlabelled(overlay)))
    # The manifests without the label: nothing would select it.
    report = tl.preflight(connection, namespace, target=plain)
    assert report[pf.MONITOR_SELECTED].status == PROBLEM, str(report)
    assert "never scraped" in report[pf.MONITOR_SELECTED].finding
    # Applied without the label, while the manifests have it: apply again.
    monitor = next(o for o in unlabelled(overlay) if o["kind"] == "ServiceMonitor")
    monitor["metadata"]["namespace"] = namespace
    connection.custom.create_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "servicemonitors", monitor
    )
    stale = tl.preflight(connection, namespace)
    assert stale[pf.MONITOR_SELECTED].status == WARNING, str(stale)
    assert "Apply the manifests again" in stale[pf.MONITOR_SELECTED].fix


# --- states 9-10: the Prometheus Operator's CRDs ------------------------------------------------


def test_the_servicemonitor_crd_missing(connection, monkeypatch):
    """Pointed at a CRD that is not installed (the real one stays for the other tests)."""
    monkeypatch.setattr(names, "SERVICE_MONITOR_CRD", "servicemonitors.absent.example.com")
    report = tl.preflight(connection)
    assert report[pf.MONITOR_CRD].status == PROBLEM
    assert 'no matches for kind "ServiceMonitor"' in report[pf.MONITOR_CRD].finding
    assert report[pf.RULE_CRD].status == OK


PROMETHEUS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "prometheuses.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"kind": "Prometheus", "plural": "prometheuses", "singular": "prometheus"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def prometheus_crd(connection) -> Iterator[None]:
    """The Prometheus Operator's Prometheus kind, installed for this test only."""
    extensions = connection.apiextensions
    name = PROMETHEUS_CRD["metadata"]["name"]
    extensions.create_custom_resource_definition(PROMETHEUS_CRD)
    eventually(
        lambda: any(
            c.type == "Established" and c.status == "True"
            for c in extensions.read_custom_resource_definition(name).status.conditions or []
        ),
        what="the Prometheus CRD established",
    )
    yield
    extensions.delete_custom_resource_definition(name)

    def gone() -> bool:
        try:
            extensions.read_custom_resource_definition(name)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    eventually(gone, timeout=60, what="the Prometheus CRD deleted")


def test_on_eks_without_the_operator_nothing_reads_the_servicemonitor(as_on_eks, gpu_node):
    report = tl.preflight(as_on_eks)
    assert report[pf.MONITOR_SELECTED].status == WARNING, str(report)
    assert "No Prometheus Operator found" in report[pf.MONITOR_SELECTED].finding
    assert report[pf.NETWORK_POLICY].status == WARNING  # no known policy engine
    assert report[pf.DEVICE_PLUGIN].status == OK  # GPUs advertised without a DaemonSet


def test_on_eks_a_prometheus_of_another_release_does_not_select_it(
    as_on_eks, namespace, prometheus_crd, tmp_path
):
    apply_monitoring(as_on_eks, tmp_path)
    prometheus = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "monitoring-prometheus", "namespace": namespace},
        "spec": {
            # What kube-prometheus-stack installed as release "monitoring" sets.
            "serviceMonitorSelector": {"matchLabels": {"release": "monitoring"}},
            "serviceMonitorNamespaceSelector": {},
            "ruleSelector": {"matchLabels": {"release": "monitoring"}},
            "ruleNamespaceSelector": {},
        },
    }
    custom = as_on_eks.custom
    custom.create_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "prometheuses", prometheus
    )
    other = tl.preflight(as_on_eks)
    assert other[pf.MONITOR_SELECTED].status == PROBLEM, str(other)
    assert other[pf.RULE_SELECTED].status == PROBLEM
    assert "to monitoring" in other[pf.MONITOR_SELECTED].fix
    # The chart installed as release kube-prometheus-stack selects our label.
    custom.patch_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "prometheuses",
        "monitoring-prometheus",
        {
            "spec": {
                "serviceMonitorSelector": {"matchLabels": {"release": names.PROMETHEUS_RELEASE}},
                "ruleSelector": {"matchLabels": {"release": names.PROMETHEUS_RELEASE}},
            }
        },
        _content_type="application/merge-patch+json",
    )
    same = tl.preflight(as_on_eks)
    assert same[pf.MONITOR_SELECTED].status == OK, str(same)
    assert f"{namespace}/monitoring-prometheus" in same[pf.MONITOR_SELECTED].finding
