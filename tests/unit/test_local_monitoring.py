"""The local Prometheus Operator stand-in: objects in, Prometheus' files out, no cluster."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes.client import (
    DiscoveryV1EndpointPort,
    V1Endpoint,
    V1EndpointConditions,
    V1EndpointSlice,
    V1ObjectMeta,
    V1ObjectReference,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
)

from tutorial_lib.local import monitoring

NS = "ml-models"
POD = "vllm-6d9c7b5f4-abcde"
POD_IP = "10.244.7.42"
LOCAL = "127.0.0.1:41234"  # where the runtime bridge forwards the pod's port 8000
JOB = f"serviceMonitor/{NS}/vllm/0"
TARGETS = f"targets/{NS}_vllm_0.json"


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_TUTORIAL_STATE", str(tmp_path))
    return tmp_path


#: The label kube-prometheus-stack's Prometheus (and the local one) selects by.
RELEASE = {"release": "kube-prometheus-stack"}


def service_monitor(labels: dict | None = None, **spec_changes) -> dict:
    """As manifests/base renders it (with the release label): a custom object, hence a dict."""
    spec = {
        "selector": {"matchLabels": {"app": "vllm"}},
        "namespaceSelector": {"matchNames": [NS]},
        "endpoints": [
            {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
        ],
    } | spec_changes
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": "vllm",
            "namespace": NS,
            "labels": {"app": "vllm", **RELEASE} if labels is None else labels,
        },
        "spec": spec,
    }


def service(namespace: str = NS, labels: dict | None = None) -> V1Service:
    """As in manifests/base/service.yaml: ``metrics`` is port 9090 -> the pod's 8000."""
    return V1Service(
        metadata=V1ObjectMeta(
            name="vllm-service",
            namespace=namespace,
            labels={"app": "vllm", "component": "service"} if labels is None else labels,
        ),
        spec=V1ServiceSpec(
            selector={"app": "vllm"},
            ports=[
                V1ServicePort(name="http", port=8000, target_port="http"),
                V1ServicePort(name="metrics", port=9090, target_port="http"),
            ],
        ),
    )


def endpoint(ip: str, pod: str, ready: bool | None) -> V1Endpoint:
    return V1Endpoint(
        addresses=[ip],
        conditions=V1EndpointConditions(ready=ready),
        target_ref=V1ObjectReference(kind="Pod", name=pod, namespace=NS),
    )


def endpoint_slice(*endpoints: V1Endpoint, namespace: str = NS) -> V1EndpointSlice:
    """What the EndpointSlice controller writes: the Service's port names, the pod's numbers."""
    return V1EndpointSlice(
        address_type="IPv4",
        metadata=V1ObjectMeta(
            name="vllm-service-x7k2p",
            namespace=namespace,
            labels={"kubernetes.io/service-name": "vllm-service"},
        ),
        ports=[
            DiscoveryV1EndpointPort(name="http", port=8000, protocol="TCP"),
            DiscoveryV1EndpointPort(name="metrics", port=8000, protocol="TCP"),
        ],
        endpoints=list(endpoints) or [endpoint(POD_IP, POD, True)],
    )


def port_forward(pod: str = POD, local_port: int = 41234) -> dict:
    """What the runtime bridge applies for a pod it runs: kwok's PortForward."""
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "PortForward",
        "metadata": {"name": pod, "namespace": NS},
        "spec": {
            "forwards": [{"ports": [8000], "target": {"port": local_port, "address": "127.0.0.1"}}]
        },
    }


def targets(wanted: monitoring.Desired) -> list[dict]:
    return json.loads(wanted.files[TARGETS])


def test_a_service_monitor_becomes_the_operators_scrape_job(state_dir):
    wanted = monitoring.desired(
        monitors=[service_monitor()],
        services=[service()],
        slices=[endpoint_slice()],
        forwards=[port_forward()],
    )
    config = yaml.safe_load(wanted.files["prometheus.yml"])
    assert config["scrape_configs"] == [
        {
            "job_name": JOB,
            "scrape_interval": "30s",
            "scrape_timeout": "10s",
            "metrics_path": "/metrics",
            "file_sd_configs": [{"files": [str(state_dir / "prometheus" / TARGETS)]}],
        }
    ]
    assert config["rule_files"] == [str(state_dir / "prometheus" / "rules" / "*.yaml")]
    # The local address is scraped; the labels are the pod's, as the Operator sets them.
    assert targets(wanted) == [
        {
            "targets": [LOCAL],
            "labels": {
                "job": "vllm-service",
                "namespace": NS,
                "service": "vllm-service",
                "pod": POD,
                "endpoint": "metrics",
                "instance": f"{POD_IP}:8000",
            },
        }
    ]


def test_without_a_port_forward_the_pod_address_is_scraped():
    wanted = monitoring.desired(
        monitors=[service_monitor()], services=[service()], slices=[endpoint_slice()]
    )
    assert [group["targets"] for group in targets(wanted)] == [[f"{POD_IP}:8000"]]


def test_only_ready_endpoints_are_targets():
    slices = [
        endpoint_slice(
            endpoint(POD_IP, POD, True),
            endpoint("10.244.7.43", "vllm-starting", False),
            endpoint("10.244.7.44", "vllm-unknown", None),  # unset means ready
        )
    ]
    wanted = monitoring.desired(monitors=[service_monitor()], services=[service()], slices=slices)
    assert [group["labels"]["pod"] for group in targets(wanted)] == [POD, "vllm-unknown"]


@pytest.mark.parametrize(
    "services",
    [
        [service(labels={"app": "other"})],  # the selector does not match
        [service(namespace="default")],  # outside namespaceSelector.matchNames
        [],  # no Service at all
    ],
)
def test_services_the_monitor_does_not_select_give_no_targets(services):
    wanted = monitoring.desired(
        monitors=[service_monitor()],
        services=services,
        slices=[endpoint_slice(), endpoint_slice(namespace="default")],
    )
    assert JOB in wanted.files["prometheus.yml"]
    assert targets(wanted) == []


def test_namespace_selector_any_looks_everywhere():
    wanted = monitoring.desired(
        monitors=[service_monitor(namespaceSelector={"any": True})],
        services=[service(namespace="default")],
        slices=[endpoint_slice(namespace="default")],
    )
    assert [group["labels"]["namespace"] for group in targets(wanted)] == ["default"]


def test_an_unknown_port_name_gives_no_targets():
    monitor = service_monitor(endpoints=[{"port": "grpc"}])
    wanted = monitoring.desired(monitors=[monitor], services=[service()], slices=[endpoint_slice()])
    assert targets(wanted) == []
    job = yaml.safe_load(wanted.files["prometheus.yml"])["scrape_configs"][0]
    assert job["scrape_interval"] == monitoring.DEFAULT_INTERVAL
    assert job["metrics_path"] == "/metrics"


def test_plain_dicts_work_like_typed_objects():
    """The mirrors hold typed Services and slices; the serialized form gives the same files."""
    typed = monitoring.desired(
        monitors=[service_monitor()],
        services=[service()],
        slices=[endpoint_slice()],
        forwards=[port_forward()],
    )
    plain = monitoring.desired(
        monitors=[service_monitor()],
        services=[service().to_dict(serialize=True)],
        slices=[endpoint_slice().to_dict(serialize=True)],
        forwards=[port_forward()],
    )
    assert plain.files == typed.files


GROUPS = [{"name": "vllm", "rules": [{"alert": "X", "expr": "up == 0", "for": "5m"}]}]


def prometheus_rule(labels: dict | None = None) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "vllm",
            "namespace": NS,
            "labels": {"app": "vllm", **RELEASE} if labels is None else labels,
        },
        "spec": {"groups": GROUPS},
    }


def test_prometheus_rules_become_rule_files():
    wanted = monitoring.desired(rules=[prometheus_rule()])
    assert yaml.safe_load(wanted.files[f"rules/{NS}_vllm.yaml"]) == {"groups": GROUPS}
    assert yaml.safe_load(wanted.files["prometheus.yml"])["scrape_configs"] == []


@pytest.mark.parametrize(
    "labels",
    [
        {"app": "vllm"},  # the base file alone, without the component
        {"app": "vllm", "release": "prometheus"},  # another release's label
        None,  # no labels at all
    ],
    ids=["unlabelled", "other-release", "no-labels"],
)
def test_a_service_monitor_without_the_release_label_is_not_scraped(labels):
    monitor = service_monitor()
    monitor["metadata"]["labels"] = labels
    wanted = monitoring.desired(monitors=[monitor], services=[service()], slices=[endpoint_slice()])
    assert yaml.safe_load(wanted.files["prometheus.yml"])["scrape_configs"] == []
    assert TARGETS not in wanted.files
    assert wanted.ignored == [f"ServiceMonitor {NS}/vllm"]


def test_with_the_release_label_it_is_scraped_next_to_an_unlabelled_copy():
    copy = service_monitor(labels={"app": "vllm"})
    copy["metadata"]["name"] = "vllm-unlabelled"
    wanted = monitoring.desired(
        monitors=[service_monitor(), copy], services=[service()], slices=[endpoint_slice()]
    )
    jobs = [j["job_name"] for j in yaml.safe_load(wanted.files["prometheus.yml"])["scrape_configs"]]
    assert jobs == [JOB]
    assert [group["labels"]["pod"] for group in targets(wanted)] == [POD]
    assert wanted.ignored == [f"ServiceMonitor {NS}/vllm-unlabelled"]


def test_a_prometheus_rule_without_the_release_label_is_not_loaded():
    wanted = monitoring.desired(rules=[prometheus_rule(labels={"app": "vllm"})])
    assert not any(name.startswith("rules/") for name in wanted.files)
    assert wanted.ignored == [f"PrometheusRule {NS}/vllm"]


@pytest.mark.parametrize(
    ("selector", "scraped"),
    [
        ({}, True),  # the Operator: an empty selector selects everything
        (None, False),  # ... and a missing one nothing
        ({"matchLabels": {"release": "monitoring"}}, False),  # a release named monitoring
        ({"matchExpressions": [{"key": "release", "operator": "Exists"}]}, True),
    ],
)
def test_the_operators_selector_rules(selector, scraped):
    wanted = monitoring.desired(
        monitors=[service_monitor()],
        services=[service()],
        slices=[endpoint_slice()],
        monitor_selector=selector,
    )
    assert (TARGETS in wanted.files) is scraped


def test_no_objects_no_jobs():
    assert set(monitoring.desired().files) == {"prometheus.yml"}


def test_write_reloads_only_for_configuration_changes(state_dir):
    objects = {
        "monitors": [service_monitor()],
        "services": [service()],
        "slices": [endpoint_slice()],
    }
    assert monitoring.write(monitoring.desired(**objects)) is True  # a new job
    assert monitoring.write(monitoring.desired(**objects)) is False  # nothing changed
    objects["forwards"] = [port_forward()]
    assert monitoring.write(monitoring.desired(**objects)) is False  # targets: file_sd reloads
    assert targets(monitoring.desired(**objects))[0]["targets"] == [LOCAL]
    on_disk = json.loads((state_dir / "prometheus" / TARGETS).read_text())
    assert on_disk[0]["targets"] == [LOCAL]
