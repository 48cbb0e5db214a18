"""The local Prometheus, driven by the ServiceMonitor and PrometheusRule like the Operator's."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

import tutorial_lib as tl
from tests.helpers import eventually
from tutorial_lib.kube import objects
from tutorial_lib.kube.connection import from_kubeconfig
from tutorial_lib.local import cluster as local_cluster
from tutorial_lib.local import monitoring as local_monitoring
from tutorial_lib.local import paths
from tutorial_lib.serving import completions, promql
from tutorial_lib.tools import monitoring

#: How long the tests wait for Prometheus to catch up: a hang guard, not a claim. The first
#: scrape comes within the ServiceMonitor's 30 s interval plus discovery.
PROMETHEUS_WAIT = 120


@pytest.fixture
def serving(serving) -> tl.Connection:
    """vLLM Ready, with the tutorial's alert rules and dashboard applied."""
    tl.apply(serving, monitoring.MONITORING)
    return serving


def vllm_targets() -> list[dict]:
    table = promql.targets(local_monitoring.url())
    return table[table["namespace"] == tl.names.NAMESPACE].to_dict("records")


def rendered_servicemonitor(cluster: tl.Connection) -> dict:
    """The ServiceMonitor as the overlay renders it: with the release label of its component."""
    return next(o for o in tl.render(cluster.overlay) if o["kind"] == "ServiceMonitor")


@pytest.fixture
def servicemonitor(serving, tmp_path) -> Path:
    """The overlay's ServiceMonitor alone, in a file (base/servicemonitor.yaml lacks the label)."""
    path = tmp_path / "servicemonitor.yaml"
    path.write_text(yaml.safe_dump(rendered_servicemonitor(serving)))
    return path


def scrape_pools() -> set[str]:
    return set(promql.targets(local_monitoring.url())["scrape_pool"])


def test_servicemonitor_target_is_up(serving):
    pod = objects.newest_pod(serving)
    target = eventually(
        lambda: next((t for t in vllm_targets() if t["health"] == "up"), None),
        timeout=PROMETHEUS_WAIT,
        what="the vLLM target up in the local Prometheus",
    )
    assert target["job"] == "vllm-service" and target["pod"] == pod.metadata.name
    assert target["scrape_url"].endswith("/metrics")


def test_deleting_the_servicemonitor_removes_the_target_and_applying_brings_it_back(
    serving, servicemonitor
):
    eventually(vllm_targets, timeout=PROMETHEUS_WAIT, what="a vLLM target")
    try:
        tl.delete(serving, servicemonitor)
        eventually(lambda: not vllm_targets(), timeout=PROMETHEUS_WAIT, what="the target removed")
    finally:
        tl.apply(serving, servicemonitor)
    eventually(vllm_targets, timeout=PROMETHEUS_WAIT, what="the target back")


def test_a_shorter_interval_reaches_prometheus_and_its_samples_are_the_scrapes(serving):
    """Notebook 09's load-test setting: a 2 s interval, read back as one row per scrape."""
    url = local_monitoring.url()
    endpoints = tl.get(serving, "servicemonitor/vllm")["spec"]["endpoints"]
    fast = [{**endpoint, "interval": "2s", "scrapeTimeout": "2s"} for endpoint in endpoints]
    try:
        tl.patch(serving, "servicemonitor/vllm", {"spec": {"endpoints": fast}})
        promql.wait_for_target(url, interval="2s", timeout=PROMETHEUS_WAIT)
        start = pd.Timestamp.now(tz="UTC")
        table = promql.samples(
            url, ["vllm:num_requests_running"], start, start + pd.Timedelta(12, "s")
        )
    finally:
        tl.apply(serving, serving.overlay)
    steps = table["seconds"].diff().dropna()
    assert len(table) >= 4 and steps.between(1.5, 2.5).all(), table
    assert table["seconds"].between(-0.5, 12).all(), table
    assert (table["vllm:num_requests_running"] == 0).all(), table  # nothing was asked
    promql.wait_for_target(url, interval="30s", timeout=PROMETHEUS_WAIT)  # the manifests' again


def test_only_a_servicemonitor_with_the_release_label_is_scraped(serving, namespace):
    """As kube-prometheus-stack's Prometheus: a copy without ``release`` gets no target.

    Two copies of the overlay's ServiceMonitor in a test namespace, both selecting
    vllm-service in ml-models: the labelled one's job appears, the unlabelled one's does
    not, until it is labelled too.
    """
    release = {tl.names.PROMETHEUS_RELEASE_LABEL: tl.names.PROMETHEUS_RELEASE}
    copies = {}
    for name, with_label in (("vllm-labelled", True), ("vllm-unlabelled", False)):
        monitor = copy.deepcopy(rendered_servicemonitor(serving))
        monitor["metadata"] = {"name": name, "namespace": namespace, "labels": {"app": "vllm"}}
        if with_label:
            monitor["metadata"]["labels"] |= release
        serving.custom.create_namespaced_custom_object(
            "monitoring.coreos.com", "v1", namespace, "servicemonitors", monitor
        )
        copies[name] = f"serviceMonitor/{namespace}/{name}/0"
    eventually(
        lambda: copies["vllm-labelled"] in scrape_pools(),
        timeout=PROMETHEUS_WAIT,
        what="the labelled copy's job in the local Prometheus",
    )
    assert copies["vllm-unlabelled"] not in scrape_pools()
    assert f"serviceMonitor/{tl.names.NAMESPACE}/vllm/0" in scrape_pools()  # the tutorial's
    serving.custom.patch_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "servicemonitors",
        "vllm-unlabelled",
        {"metadata": {"labels": release}},
        _content_type="application/merge-patch+json",
    )
    eventually(
        lambda: copies["vllm-unlabelled"] in scrape_pools(),
        timeout=PROMETHEUS_WAIT,
        what="the copy's job once it carries the label",
    )


def test_every_metric_the_rules_and_dashboard_use_exists_in_the_running_vllm(serving):
    with tl.port_forward(serving) as tunnel:
        exposed = set(tl.metrics(tunnel.url)["sample"])
    exposed.add("up")  # Prometheus' own per-target series
    for expr in monitoring.expressions():
        names = promql.metric_names(local_monitoring.url(), expr)
        assert names, f"no metric in {expr}"
        assert names <= exposed, f"{sorted(names - exposed)} not exposed by vLLM: {expr}"


def test_the_blogs_old_metric_name_would_be_caught(serving):
    with tl.port_forward(serving) as tunnel:
        exposed = set(tl.metrics(tunnel.url)["sample"])
    old = "max by (model_name) (vllm:gpu_cache_usage_perc)"
    assert promql.metric_names(local_monitoring.url(), old) == {"vllm:gpu_cache_usage_perc"}
    assert "vllm:gpu_cache_usage_perc" not in exposed


def test_dashboard_queries_aggregate_by_model_name(serving):
    for expr in monitoring.dashboard_queries()["expr"]:
        groupings = [
            node["grouping"]
            for node in promql.syntax_nodes(local_monitoring.url(), expr, "aggregation")
        ]
        assert groupings and all("model_name" in g for g in groupings), expr


def test_rules_of_the_prometheusrule_are_loaded(serving):
    def alerts() -> set[str]:
        return set(promql.rules(local_monitoring.url())["name"])

    loaded = eventually(alerts, timeout=PROMETHEUS_WAIT, what="the PrometheusRule's alerts loaded")
    assert loaded == {r["alert"] for g in monitoring.rule_groups() for r in g["rules"]}


def test_ttft_quantile_is_there_after_a_few_completions(serving):
    eventually(
        lambda: any(t["health"] == "up" for t in vllm_targets()),
        timeout=PROMETHEUS_WAIT,
        what="the vLLM target up",
    )
    with tl.port_forward(serving) as tunnel:
        for question in ("What is a Pod?", "What is a Service?", "What is a Node?"):
            tl.chat(tunnel.url, question, max_tokens=8)
        model = completions.served_model(tunnel.url)
    ttft = monitoring.dashboard_query("Time to first token", "p95")
    table = promql.wait_for_value(local_monitoring.url(), ttft, timeout=90)
    assert list(table["model_name"]) == [model]  # one series per served model, as the panel


def test_smoke_test_reports_prometheus_passed(serving):
    eventually(
        lambda: any(t["health"] == "up" for t in vllm_targets()),
        timeout=PROMETHEUS_WAIT,
        what="the vLLM target up",
    )
    report = tl.smoke_test(serving)
    assert report.passed, str(report)
    assert report.checks[-1].status == "passed", str(report)


def test_reach_through_a_port_forward_as_on_eks(serving):
    """Away from the local cluster, reach_prometheus tunnels to a Service and closes it."""
    remote = from_kubeconfig(paths.kubeconfig_path(), local_cluster.CONTEXT)  # not as local
    assert not remote.local
    with tl.reach_prometheus(
        remote, service="vllm-service", namespace=tl.names.NAMESPACE, port=8000
    ) as url:
        assert httpx.get(url + "/health", timeout=10).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=3)
    with (
        pytest.raises(tl.errors.PrometheusError, match="No Prometheus reachable"),
        tl.reach_prometheus(remote),
    ):
        pass


def test_a_broken_servicemonitor_and_rule_in_one_room_leave_the_others_loaded(serving, namespace):
    """One room's mistakes must not stop Prometheus for every room (issue 28).

    Prometheus takes its configuration whole: without the check, the broken job would make
    every later reload fail, and the good monitor created after it would never be scraped.
    The broken objects are reported where their room looks: a Warning event on each.
    """
    release = {tl.names.PROMETHEUS_RELEASE_LABEL: tl.names.PROMETHEUS_RELEASE}
    broken = copy.deepcopy(rendered_servicemonitor(serving))
    broken["metadata"] = {"name": "broken", "namespace": namespace, "labels": release}
    broken["spec"]["endpoints"][0] |= {"interval": "30s", "scrapeTimeout": "60s"}
    good = copy.deepcopy(rendered_servicemonitor(serving))
    good["metadata"] = {"name": "good", "namespace": namespace, "labels": release}
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "broken", "namespace": namespace, "labels": release},
        "spec": {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "up >"}]}]},
    }
    for plural, obj in (("servicemonitors", broken), ("prometheusrules", rule)):
        serving.custom.create_namespaced_custom_object(
            "monitoring.coreos.com", "v1", namespace, plural, obj
        )
    eventually(
        lambda: len(_not_loaded(serving, namespace)) == 2,
        timeout=PROMETHEUS_WAIT,
        what=lambda: f"two NotLoaded events in {namespace}: {_not_loaded(serving, namespace)}",
    )
    said = _not_loaded(serving, namespace)
    assert "scrape timeout greater than scrape interval" in said["ServiceMonitor/broken"]
    assert "parse error" in said["PrometheusRule/broken"]
    serving.custom.create_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "servicemonitors", good
    )
    eventually(
        lambda: f"serviceMonitor/{namespace}/good/0" in scrape_pools(),
        timeout=PROMETHEUS_WAIT,
        what="the good monitor created after the broken one, scraped",
    )
    assert f"serviceMonitor/{namespace}/broken/0" not in scrape_pools()
    assert f"serviceMonitor/{tl.names.NAMESPACE}/vllm/0" in scrape_pools()  # another room's


def _not_loaded(cluster: tl.Connection, namespace: str) -> dict[str, str]:
    found = cluster.core.list_namespaced_event(namespace, field_selector="reason=NotLoaded")
    return {f"{e.involved_object.kind}/{e.involved_object.name}": e.message for e in found.items}
