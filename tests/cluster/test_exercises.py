"""The edited-YAML exercises' checks catch the wrong edits a reader makes, and pass right ones.

Each wrong answer here is one a reader could write: the blog's own YAML, a fix half done, a
typo the API server refuses, a file that is not YAML. The checks run against the real API
server (its dry run) and the real policy engine, as in notebooks 02 and 05.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

import tutorial_lib as tl
from tutorial_lib.domain import flows
from tutorial_lib.kube import objects

BLOG_MONITOR = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "ServiceMonitor",
    "metadata": {"name": "my-monitor", "labels": {"app": "vllm"}},
    "spec": {
        "selector": {"matchLabels": {"app": "vllm"}},
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        "namespaceSelector": {"matchNames": ["ml-models"]},
    },
}


def failing(verdict: tl.exercises.Verdict) -> dict[str, str]:
    """The failing checks and what each says to change."""
    wrong = verdict.checks[~verdict.checks["ok"]]
    return dict(zip(wrong["check"], wrong["what to change"], strict=True))


@pytest.fixture
def room(connection, namespace) -> tl.Connection:
    """A namespace with the tutorial's Service in it (and no vLLM: nothing starts)."""
    here = dataclasses.replace(connection, namespace=namespace)
    service = [o for o in tl.render(connection.overlay, namespace) if o["kind"] == "Service"]
    objects.apply_objects(here, service, "the tutorial's Service")
    return here


def test_the_blogs_policy_is_told_each_of_its_mistakes_and_ours_passes(room):
    verdict = tl.exercises.network_policy(room, tl.netpol.BLOG_POLICY)
    assert not verdict.ok and "not yet" in verdict.headline
    wrong = failing(verdict)
    assert "ipBlock" in wrong["vLLM pod → huggingface.co TCP/443: denied"]
    assert "TCP" in wrong["vLLM pod → CoreDNS TCP/53: denied"]
    assert "every pod" in wrong["vLLM pod → a pod in namespace default TCP/443: allowed"]
    assert "Ingress" in wrong["a pod in namespace default → vLLM pod TCP/8000: allowed"]
    assert len(wrong) == 4, wrong
    ours = tl.exercises.network_policy(room, tl.manifests.ROOT / "base" / "networkpolicy.yaml")
    assert ours.ok, ours
    assert len(ours.checks) == 2 + len(flows.TUTORIAL_FLOWS)  # accepted, selects, each flow


def test_an_ipblock_without_its_exceptions_is_told_the_metadata_address_and_the_vpc(room, tmp_path):
    policy = tl.netpol.policies(tl.manifests.ROOT / "base" / "networkpolicy.yaml")[0]
    del policy["spec"]["egress"][0]["to"][0]["ipBlock"]["except"]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    wrong = failing(tl.exercises.network_policy(room, path))
    assert set(wrong) == {
        "vLLM pod → cloud metadata 169.254.169.254 TCP/443: allowed",
        "vLLM pod → a database in the VPC TCP/443: allowed",
        "vLLM pod → a pod in namespace default TCP/443: allowed",  # a pod's address is private
    }, wrong
    assert all("except" in fix.lower() for fix in wrong.values())


def test_a_policy_for_no_pod_and_a_refused_one_and_a_broken_file_are_told_so(room, tmp_path):
    policy = tl.netpol.policies(tl.manifests.ROOT / "base" / "networkpolicy.yaml")[0]
    policy["spec"]["podSelector"] = {"matchLabels": {"app": "vllm-typo"}}
    policy["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"] = "0.0.0.0/33"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    verdict = tl.exercises.network_policy(room, path)
    wrong = failing(verdict)
    assert set(wrong) == {
        "the API server accepts it (dry run: nothing stored)",
        "its podSelector selects the vLLM pods",
    }, wrong
    assert "0.0.0.0/33" in wrong["the API server accepts it (dry run: nothing stored)"]
    assert len(verdict.checks) == 2, "no flow judged for a policy that selects no pod"
    path.write_text("kind: NetworkPolicy\nspec: [unclosed\n")
    broken = tl.exercises.network_policy(room, path)
    assert not broken.ok and list(broken.checks["check"]) == [f"one NetworkPolicy in {path}"]
    assert str(path) in str(broken)


def test_the_blogs_service_monitor_is_told_the_release_label_and_ours_passes(room):
    wrong = failing(tl.exercises.service_monitor(room, BLOG_MONITOR))
    assert set(wrong) == {"a Prometheus selects it"}, wrong
    assert f"release={tl.names.PROMETHEUS_RELEASE}" in wrong["a Prometheus selects it"]
    overlay = [o for o in tl.render(room.overlay) if o["kind"] == "ServiceMonitor"]
    assert tl.exercises.service_monitor(room, overlay[0]).ok  # moved into the room: ml-models


@pytest.mark.parametrize(
    ("change", "check", "told"),
    [
        (("selector", {"matchLabels": {"app": "vllm-typo"}}), "its selector selects", "labels"),
        (("namespaceSelector", {"matchNames": ["default"]}), "its namespaceSelector", "matchNames"),
        (("endpoints", [{"port": "http-metrics"}]), "each endpoint names a port", "metrics"),
        (("endpoints", [{"port": "metrics", "path": "/stats"}]), "each endpoint scrapes", "404"),
    ],
)
def test_a_service_monitor_that_finds_no_target_is_told_where(room, change, check, told):
    monitor = copy.deepcopy(BLOG_MONITOR)
    monitor["metadata"]["labels"]["release"] = tl.names.PROMETHEUS_RELEASE
    key, value = change
    monitor["spec"][key] = value
    wrong = failing(tl.exercises.service_monitor(room, monitor))
    assert len(wrong) == 1 and next(iter(wrong)).startswith(check), wrong
    assert told in next(iter(wrong.values()))


def test_a_file_without_the_kind_is_told_what_it_holds(room, tmp_path: Path):
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({**BLOG_MONITOR, "kind": "PodMonitor"}))
    verdict = tl.exercises.service_monitor(room, path)
    assert "holds 0 objects of kind ServiceMonitor" in str(verdict)


def probe_patch(container: str = "vllm", **probe) -> dict:
    """A right patch of the startup probe (the notebook's file, solved), ``probe`` changed."""
    startup = {
        "httpGet": {"path": "/health", "port": 8000},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "failureThreshold": 60,
    }
    startup.update(probe)
    containers = [{"name": container, "startupProbe": startup}]
    return {"spec": {"template": {"spec": {"containers": containers}}}}


@pytest.fixture
def deployment(room) -> tl.Connection:
    """The tutorial's Deployment in the room, at zero replicas: no vLLM starts."""
    found = [o for o in tl.render(room.overlay, room.namespace) if o["kind"] == "Deployment"]
    found[0]["spec"]["replicas"] = 0
    objects.apply_objects(room, found, "the tutorial's Deployment")
    return room


@pytest.mark.parametrize(
    ("change", "check", "told"),
    [
        ({"failureThreshold": 30}, "it gives vLLM 10 minutes", "600"),  # the blog's repo: 330 s
        ({"periodSeconds": 30, "failureThreshold": 20}, "it sees a started vLLM", "Ready"),
        ({"httpGet": {"path": "/healthz", "port": 8000}}, "the probe asks", "/health"),
        ({"httpGet": {"path": "/health", "port": 8080}}, "on vLLM's port", "8000"),
    ],
)
def test_a_startup_probe_patch_is_told_what_it_gets_wrong(deployment, change, check, told):
    wrong = failing(tl.exercises.startup_probe(deployment, probe_patch(**change)))
    assert len(wrong) == 1 and next(iter(wrong)).startswith(check), wrong
    assert told in next(iter(wrong.values()))


def test_a_patch_for_another_container_or_refused_or_unreadable_is_told_so(deployment, tmp_path):
    wrong = failing(tl.exercises.startup_probe(deployment, probe_patch("vllm-server")))
    assert list(wrong) == ["the API server accepts it (dry run: nothing stored)"], wrong
    assert "merge by name" in next(iter(wrong.values())), "a new container, without an image"
    second = probe_patch("vllm-server")
    second["spec"]["template"]["spec"]["containers"][0]["image"] = "vllm/vllm-openai:v0.14.1"
    wrong = failing(tl.exercises.startup_probe(deployment, second))
    assert list(wrong) == ["it changes the vllm container and adds none"], wrong
    refused = probe_patch(httpGet={"path": "/health", "port": "8000"})  # a name, not a number
    wrong = failing(tl.exercises.startup_probe(deployment, refused))
    assert list(wrong) == ["the API server accepts it (dry run: nothing stored)"], wrong
    path = tmp_path / "patch.yaml"
    path.write_text("spec: [unclosed\n")
    assert list(failing(tl.exercises.startup_probe(deployment, path))) == [f"a patch in {path}"]


def test_a_right_startup_probe_passes_and_nothing_is_stored(deployment):
    before = tl.get(deployment, "deploy/vllm")["metadata"]["generation"]
    assert tl.exercises.startup_probe(deployment, probe_patch(initialDelaySeconds=0)).ok
    assert tl.get(deployment, "deploy/vllm")["metadata"]["generation"] == before
