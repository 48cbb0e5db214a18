"""tl.preflight's judgements on typed objects, its report, and label selectors; no cluster."""

from __future__ import annotations

import dataclasses

import pytest
from kubernetes.client import (
    V1Container,
    V1CustomResourceDefinition,
    V1CustomResourceDefinitionNames,
    V1CustomResourceDefinitionSpec,
    V1CustomResourceDefinitionVersion,
    V1DaemonSet,
    V1DaemonSetSpec,
    V1DaemonSetStatus,
    V1LabelSelector,
    V1Node,
    V1NodeCondition,
    V1NodeSpec,
    V1NodeStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1PodStatus,
    V1PodTemplateSpec,
    V1ResourceQuota,
    V1ResourceQuotaSpec,
    V1ResourceQuotaStatus,
    V1ResourceRequirements,
    V1Taint,
)
from kubernetes.utils import parse_quantity

import tutorial_lib as tl
from tutorial_lib import names
from tutorial_lib.kube import labels
from tutorial_lib.kube import preflight as pf
from tutorial_lib.tools import manifests, monitoring

OK, WARNING, PROBLEM = pf.OK, pf.WARNING, pf.PROBLEM
BLOG_LABELS = {"workload": "gpu-vllm", "nvidia.com/gpu.product": "NVIDIA-L4"}
BLOG_TAINT = V1Taint(key="nvidia.com/gpu", value="true", effect="NoSchedule")


@pytest.fixture(scope="module")
def needs() -> pf.Needs:
    """What the blog's overlay asks for, as preflight reads it."""
    return pf.Needs.of(
        manifests.render(manifests.overlay("eks-l4")), manifests.render(monitoring.MONITORING)
    )


def node(
    name: str = "gpu-1",
    *,
    gpus: str | None = "1",
    labels: dict | None = None,
    taints: list | None = None,
    memory: str = "14119Mi",
    ready: bool = True,
) -> V1Node:
    """A g6.xlarge as EKS registers it (allocatable as in tutorial_lib/local/nodes.yaml)."""
    allocatable = {"cpu": "3920m", "memory": memory, "pods": "110"}
    if gpus is not None:
        allocatable[names.GPU_RESOURCE] = gpus
    return V1Node(
        metadata=V1ObjectMeta(name=name, labels=BLOG_LABELS if labels is None else labels),
        spec=V1NodeSpec(taints=[BLOG_TAINT] if taints is None else taints),
        status=V1NodeStatus(
            allocatable=allocatable,
            conditions=[V1NodeCondition(type="Ready", status="True" if ready else "False")],
        ),
    )


def daemonset(
    name: str,
    namespace: str = "kube-system",
    *,
    desired: int = 1,
    ready: int = 1,
    containers: dict[str, list[str]] | None = None,
) -> V1DaemonSet:
    return V1DaemonSet(
        metadata=V1ObjectMeta(name=name, namespace=namespace),
        spec=V1DaemonSetSpec(
            selector=V1LabelSelector(match_labels={"app": name}),
            template=V1PodTemplateSpec(
                spec=V1PodSpec(
                    containers=[
                        V1Container(name=c, image="example", args=args)
                        for c, args in (containers or {name: []}).items()
                    ]
                )
            ),
        ),
        status=V1DaemonSetStatus(
            desired_number_scheduled=desired,
            number_ready=ready,
            current_number_scheduled=desired,
            number_misscheduled=0,
        ),
    )


# --- label selectors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, False),  # the Operator: a missing selector selects nothing
        ({}, True),  # an empty one everything
        ({"matchLabels": {"release": "kube-prometheus-stack"}}, True),
        ({"matchLabels": {"release": "monitoring"}}, False),
        ({"matchExpressions": [{"key": "release", "operator": "In", "values": ["a", "b"]}]}, False),
        ({"matchExpressions": [{"key": "release", "operator": "NotIn", "values": ["a"]}]}, True),
        ({"matchExpressions": [{"key": "release", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}, False),
    ],
)
def test_label_selectors_as_the_api_defines_them(selector, expected):
    assert labels.matches(selector, {"app": "vllm", "release": "kube-prometheus-stack"}) is expected


def test_selectors_read_as_kubectl_writes_them():
    assert labels.describe(labels.release_selector()) == "release=kube-prometheus-stack"
    assert labels.describe(None) == "(none: selects nothing)"
    assert labels.describe({}) == "(empty: selects everything)"
    expression = {"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}
    assert labels.describe(expression) == "a in (x,y)"


# --- what the manifests ask for ---------------------------------------------------------------


def test_needs_are_read_from_the_rendered_manifests(needs):
    assert needs.node_selector == {"workload": "gpu-vllm"}
    assert needs.expected_taints() == ["nvidia.com/gpu=true:NoSchedule"]
    deployment = next(
        o for o in manifests.render(manifests.overlay("eks-l4")) if o["kind"] == "Deployment"
    )
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert needs.requests == {k: parse_quantity(v) for k, v in resources["requests"].items()}
    assert needs.limits == {k: parse_quantity(v) for k, v in resources["limits"].items()}
    assert needs.requests["cpu"] == 3 and needs.requests["memory"] == 12 * 2**30
    assert needs.gpus == 1
    assert needs.cuda == (13, 0)  # vllm/vllm-openai:v0.26.0, a CUDA 13.0 build
    assert needs.monitor["metadata"]["labels"]["release"] == names.PROMETHEUS_RELEASE
    assert needs.rule["metadata"]["labels"]["release"] == names.PROMETHEUS_RELEASE
    assert needs.pod_labels == {"app": "vllm"}


# --- GPU node, label, taint -------------------------------------------------------------------


def statuses(findings) -> list[str]:
    return [f.status for f in findings]


def test_the_blogs_gpu_node_passes_all_three(needs):
    found = pf.gpu_node_findings(
        [node(), node("cpu-1", gpus=None, labels={}, taints=[])], needs, local=False
    )
    assert statuses(found) == [OK, OK, OK]
    assert "gpu-1: 1 x nvidia.com/gpu (NVIDIA-L4)" in found[0].finding
    assert "workload=gpu-vllm" in found[1].finding


def test_no_gpu_node_is_a_warning_on_eks_and_a_problem_locally(needs):
    cpu_only = [node("cpu-1", gpus=None, labels={"workload": "general"}, taints=[])]
    remote = pf.gpu_node_findings(cpu_only, needs, local=False)
    assert statuses(remote) == [WARNING, WARNING, WARNING]
    assert "min size 0" in remote[0].finding
    assert "--taints key=nvidia.com/gpu,value=true,effect=NO_SCHEDULE" in remote[0].fix
    assert pf.gpu_node_findings(cpu_only, needs, local=True)[0].status == PROBLEM


def nodepool(labels: dict, taints: list[dict]) -> dict:
    """A Karpenter NodePool as the API returns it (the parts preflight reads)."""
    requirement = {"key": "node.kubernetes.io/instance-type", "operator": "In"}
    return {
        "metadata": {"name": "gpu-vllm"},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "taints": taints,
                    "requirements": [requirement | {"values": ["g6.xlarge"]}],
                },
            },
            "limits": {"nvidia.com/gpu": "2"},
        },
    }


BLOG_POOL_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


@pytest.mark.parametrize("local", [True, False])
def test_no_gpu_node_but_a_nodepool_that_launches_one_passes(needs, local):
    cpu_only = [node("cpu-1", gpus=None, labels={"workload": "general"}, taints=[])]
    pools = [nodepool(BLOG_LABELS, [BLOG_POOL_TAINT])]
    found = pf.gpu_node_findings(cpu_only, needs, local=local, pools=pools)
    assert statuses(found) == [OK, OK, OK]
    assert "Karpenter launches one" in found[0].finding
    assert "NodePool gpu-vllm (g6.xlarge, at most 2 x nvidia.com/gpu)" in found[0].finding
    assert "NodePool gpu-vllm labels its nodes workload=gpu-vllm" in found[1].finding


def test_a_nodepool_for_other_nodes_does_not_count(needs):
    cpu_only = [node("cpu-1", gpus=None, labels={"workload": "general"}, taints=[])]
    pools = [nodepool({"workload": "batch"}, [])]
    found = pf.gpu_node_findings(cpu_only, needs, local=True, pools=pools)
    assert found[0].status == PROBLEM


def test_a_nodepool_without_the_taint_is_a_warning(needs):
    cpu_only = [node("cpu-1", gpus=None, labels={"workload": "general"}, taints=[])]
    found = pf.gpu_node_findings(cpu_only, needs, local=False, pools=[nodepool(BLOG_LABELS, [])])
    assert statuses(found) == [OK, OK, WARNING]
    assert "NodePool gpu-vllm lacks the taint nvidia.com/gpu=true:NoSchedule" in found[2].finding


def test_a_gpu_node_without_the_label_is_a_problem_with_the_command_to_fix_it(needs):
    found = pf.gpu_node_findings([node(labels={})], needs, local=False)
    assert statuses(found) == [OK, PROBLEM, OK]
    assert "didn't match Pod's node affinity/selector" in found[1].finding
    assert found[1].fix.startswith("kubectl label node gpu-1 workload=gpu-vllm")


def test_a_gpu_node_without_the_taint_is_a_warning(needs):
    found = pf.gpu_node_findings([node(taints=[])], needs, local=False)
    assert statuses(found) == [OK, OK, WARNING]
    assert "kubectl taint node gpu-1 nvidia.com/gpu=true:NoSchedule" in found[2].fix


def test_a_taint_the_deployment_does_not_tolerate_is_a_problem(needs):
    dedicated = V1Taint(key="dedicated", value="ml", effect="NoSchedule")
    found = pf.gpu_node_findings([node(taints=[BLOG_TAINT, dedicated])], needs, local=False)
    assert found[2].status == PROBLEM and "dedicated=ml:NoSchedule" in found[2].finding


def test_a_labelled_node_without_gpus_points_at_the_device_plugin(needs):
    found = pf.gpu_node_findings([node(gpus=None)], needs, local=False)
    assert found[0].status == PROBLEM
    assert "advertises no nvidia.com/gpu" in found[0].finding


def test_a_gpu_node_too_small_for_the_requests_is_a_problem(needs):
    found = pf.gpu_node_findings([node(memory="10Gi")], needs, local=False)
    assert found[0].status == PROBLEM and "memory 12.00 GiB > 10.00 GiB" in found[0].finding


def test_a_node_not_ready_is_a_warning(needs):
    assert pf.gpu_node_findings([node(ready=False)], needs, local=False)[0].status == WARNING


# --- device plugin and driver ---------------------------------------------------------------


def test_device_plugin(needs):
    plugin = daemonset("nvidia-device-plugin-daemonset")
    assert pf.device_plugin_finding([plugin], [node()], needs, local=False).status == OK
    idle = daemonset("nvdp-nvidia-device-plugin", "nvidia-device-plugin", desired=0, ready=0)
    finding = pf.device_plugin_finding([idle], [], needs, local=False)
    assert finding.status == WARNING and "nvidia.com/gpu.present=true" in finding.fix
    failing = daemonset("nvidia-device-plugin-daemonset", desired=2, ready=1)
    assert pf.device_plugin_finding([failing], [node()], needs, local=False).status == WARNING


def test_no_device_plugin(needs):
    simulated = pf.device_plugin_finding([], [node()], needs, local=True)
    assert simulated.status == OK and "kwok" in simulated.finding
    # Bottlerocket: GPUs advertised without a DaemonSet.
    assert pf.device_plugin_finding([], [node()], needs, local=False).status == OK
    missing = pf.device_plugin_finding([], [node(gpus=None)], needs, local=False)
    assert missing.status == PROBLEM and "helm upgrade -i nvdp" in missing.fix
    nothing_yet = pf.device_plugin_finding([], [], needs, local=False)
    assert nothing_yet.status == WARNING


def gfd(driver: str, cuda: str) -> dict:
    """The labels GPU feature discovery sets for a driver and the CUDA it supports."""
    major, minor = cuda.split(".")
    return BLOG_LABELS | {
        "nvidia.com/cuda.driver-version.full": driver,
        "nvidia.com/cuda.driver-version.major": driver.split(".")[0],
        "nvidia.com/cuda.runtime-version.major": major,
        "nvidia.com/cuda.runtime-version.minor": minor,
    }


def test_driver_new_enough_for_cuda_13(needs):
    finding = pf.driver_finding([node(labels=gfd("580.95.05", "13.0"))], needs, local=False)
    assert finding.status == OK
    assert "driver 580.95.05 (CUDA 13.0)" in finding.finding
    assert "580-series" in finding.finding


def test_driver_too_old_for_the_cu130_image(needs):
    finding = pf.driver_finding([node(labels=gfd("570.172.08", "12.8"))], needs, local=False)
    assert finding.status == PROBLEM
    assert "CUDA driver version is insufficient" in finding.finding
    # The deprecated labels of older GPU feature discovery count too.
    old = BLOG_LABELS | {"nvidia.com/cuda.driver.major": "550"}
    assert pf.driver_finding([node(labels=old)], needs, local=False).status == PROBLEM


@pytest.mark.parametrize(
    ("image", "cuda"),
    [
        ("vllm/vllm-openai:v0.14.1-cu130", (13, 0)),  # the blog's: the tag says it
        ("vllm/vllm-openai:v0.14.1-cu130@sha256:" + "0" * 64, (13, 0)),  # a digest after it
        ("vllm/vllm-openai:v0.26.0-cu129", (12, 9)),
        ("vllm/vllm-openai:v0.26.0@sha256:" + "0" * 64, (13, 0)),  # plain, known
        ("vllm/vllm-openai:v0.6.4", None),  # plain and not the pinned release: unknown
    ],
)
def test_the_images_cuda_comes_from_its_tag_or_the_pinned_release(needs, image, cuda):
    assert dataclasses.replace(needs, image=image).cuda == cuda


def test_driver_unknown_says_how_to_look(needs):
    finding = pf.driver_finding([node()], needs, local=False)
    assert finding.status == WARNING and "Unknown on gpu-1" in finding.finding
    assert "nvidia-smi" in finding.fix
    assert pf.driver_finding([node()], needs, local=True).status == OK


# --- CRDs and Prometheus' selection -----------------------------------------------------------


def crd(name: str, versions: tuple[str, ...] = ("v1",)) -> V1CustomResourceDefinition:
    plural, _, group = name.partition(".")
    return V1CustomResourceDefinition(
        metadata=V1ObjectMeta(name=name),
        spec=V1CustomResourceDefinitionSpec(
            group=group,
            names=V1CustomResourceDefinitionNames(kind=plural, plural=plural),
            scope="Namespaced",
            versions=[
                V1CustomResourceDefinitionVersion(name=v, served=True, storage=True)
                for v in versions
            ],
        ),
    )


def test_crds():
    name = names.SERVICE_MONITOR_CRD
    assert pf.crd_finding(crd(name), name, required=True, local=False).status == OK
    missing = pf.crd_finding(None, name, required=True, local=False)
    assert missing.status == PROBLEM and 'no matches for kind "ServiceMonitor"' in missing.finding
    assert "helm install kube-prometheus-stack" in missing.fix
    rule = pf.crd_finding(None, names.PROMETHEUS_RULE_CRD, required=False, local=False)
    assert rule.check == pf.RULE_CRD and rule.status == WARNING
    old = pf.crd_finding(crd(name, ("v1alpha1",)), name, required=True, local=False)
    assert old.status == PROBLEM


def prometheus(namespace: str = "ai-platform", **spec) -> dict:
    """A Prometheus object as kube-prometheus-stack creates it (release kube-prometheus-stack)."""
    defaults = {
        "serviceMonitorSelector": {"matchLabels": {"release": "kube-prometheus-stack"}},
        "serviceMonitorNamespaceSelector": {},
        "ruleSelector": {"matchLabels": {"release": "kube-prometheus-stack"}},
        "ruleNamespaceSelector": {},
    }
    return {
        "metadata": {"namespace": namespace, "name": "kube-prometheus-stack-prometheus"},
        "spec": defaults | spec,
    }


def ours(labels: dict | None = None, kind: str = "ServiceMonitor") -> pf.Ours:
    return pf.Ours(
        kind=kind,
        labels={"app": "vllm", "release": "kube-prometheus-stack"} if labels is None else labels,
        source=f"the {kind} of manifests/overlays/eks-l4",
        namespace="ml-models",
        namespace_labels={"kubernetes.io/metadata.name": "ml-models"},
    )


def test_kube_prometheus_stacks_default_selects_our_label():
    finding = pf.selection_finding(ours(), [prometheus()], local=False)
    assert finding.status == OK
    assert "ai-platform/kube-prometheus-stack-prometheus" in finding.finding


def test_another_release_name_is_a_problem_whose_fix_names_it():
    other = prometheus(serviceMonitorSelector={"matchLabels": {"release": "monitoring"}})
    finding = pf.selection_finding(ours(), [other], local=False)
    assert finding.status == PROBLEM
    assert "never scraped" in finding.finding
    assert pf.RELEASE_COMPONENT in finding.fix and "to monitoring" in finding.fix


def test_without_the_label_nothing_selects_it():
    finding = pf.selection_finding(ours({"app": "vllm"}), [prometheus()], local=False)
    assert finding.status == PROBLEM
    assert "app=vllm do not match" in finding.finding


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ({"serviceMonitorSelector": {}}, OK),  # NilUsesHelmValues=false: all monitors
        ({"serviceMonitorSelector": None}, PROBLEM),  # no selector: none
        ({"serviceMonitorNamespaceSelector": None}, PROBLEM),  # only ai-platform
        (
            {"serviceMonitorNamespaceSelector": {"matchLabels": {"monitoring": "on"}}},
            PROBLEM,
        ),
    ],
)
def test_the_operators_selector_rules(spec, status):
    finding = pf.selection_finding(ours(), [prometheus(**spec)], local=False)
    assert finding.status == status, finding
    if "serviceMonitorNamespaceSelector" in spec:
        assert "leaves out ml-models" in finding.finding


def test_rules_are_judged_by_the_rule_selector():
    mismatch = prometheus(ruleSelector={"matchLabels": {"release": "prom"}})
    finding = pf.selection_finding(ours(kind="PrometheusRule"), [mismatch], local=False)
    assert finding.check == pf.RULE_SELECTED and finding.status == PROBLEM
    assert "alerts never load" in finding.finding


def test_no_prometheus_operator_is_a_warning():
    assert pf.selection_finding(ours(), None, local=False).status == WARNING
    assert pf.selection_finding(ours(), [], local=False).status == WARNING


def test_the_local_prometheus_selects_like_the_chart():
    selected = pf.selection_finding(ours(), [pf.LOCAL_PROMETHEUS], local=True)
    assert selected.status == OK
    unlabelled = pf.selection_finding(ours({"app": "vllm"}), [pf.LOCAL_PROMETHEUS], local=True)
    assert unlabelled.status == PROBLEM and pf.RELEASE_COMPONENT in unlabelled.fix


def test_an_applied_copy_without_the_label_is_a_warning_to_apply_again():
    """Applied before the component existed: the next apply adds the label."""
    stale = pf.Ours(**(vars(ours()) | {"applied": {"app": "vllm"}}))
    finding = pf.selection_finding(stale, [prometheus()], local=False)
    assert finding.status == WARNING
    assert "applied in ml-models (app=vllm)" in finding.finding
    assert "tl.apply(cluster, cluster.overlay)" in finding.fix
    fresh = pf.Ours(**(vars(ours()) | {"applied": ours().labels}))
    assert pf.selection_finding(fresh, [prometheus()], local=False).status == OK


# --- NetworkPolicy enforcement ----------------------------------------------------------------


def aws_node(agent_args: list[str] | None) -> V1DaemonSet:
    containers = {"aws-node": []}
    if agent_args is not None:
        containers["aws-eks-nodeagent"] = agent_args
    return daemonset("aws-node", containers=containers)


def test_network_policy_enforcement():
    local = pf.network_policy_finding([], local=True)
    assert local.status == WARNING and "cyclonus" in local.finding
    enabled = aws_node(["--enable-ipv6=false", "--enable-network-policy=true"])
    assert pf.network_policy_finding([enabled], local=False).status == OK
    disabled = pf.network_policy_finding([aws_node(["--enable-network-policy=false"])], local=False)
    assert disabled.status == PROBLEM and "enableNetworkPolicy" in disabled.fix
    assert pf.network_policy_finding([aws_node(None)], local=False).status == PROBLEM
    # Calico in policy-only mode next to the VPC CNI enforces policies.
    calico = daemonset("calico-node", "calico-system")
    with_calico = pf.network_policy_finding([aws_node(None), calico], local=False)
    assert with_calico.status == OK and "Calico" in with_calico.finding
    unknown = pf.network_policy_finding([daemonset("kube-proxy")], local=False)
    assert unknown.status == WARNING and "denies all ingress" in unknown.fix


# --- ResourceQuota ------------------------------------------------------------------------------


def quota(hard: dict, used: dict | None = None, name: str = "team") -> V1ResourceQuota:
    return V1ResourceQuota(
        metadata=V1ObjectMeta(name=name, namespace="ml-models"),
        spec=V1ResourceQuotaSpec(hard=hard),
        status=V1ResourceQuotaStatus(hard=hard, used=used or {}),
    )


def vllm_pod(phase: str = "Running") -> V1Pod:
    resources = V1ResourceRequirements(
        requests={"cpu": "3", "memory": "12Gi", names.GPU_RESOURCE: "1"},
        limits={"cpu": "4", "memory": "14Gi", names.GPU_RESOURCE: "1"},
    )
    return V1Pod(
        metadata=V1ObjectMeta(name="vllm-abc", labels={"app": "vllm"}),
        spec=V1PodSpec(containers=[V1Container(name="vllm", resources=resources)]),
        status=V1PodStatus(phase=phase),
    )


def test_no_namespace_or_no_quota_is_fine(needs):
    assert pf.quota_finding(None, needs, "ml-models").status == OK
    assert pf.quota_finding([], needs, "ml-models").status == OK


def test_a_namespace_of_ones_own_that_does_not_exist_is_a_problem_with_the_command(needs):
    finding = pf.quota_finding(None, needs, "attendee-01")
    assert finding.status == PROBLEM
    assert "kubectl create namespace attendee-01" in finding.fix


def test_a_quota_with_room_for_the_pod(needs):
    roomy = quota({"requests.cpu": "8", "requests.memory": "32Gi", "requests.nvidia.com/gpu": "2"})
    finding = pf.quota_finding([roomy], needs, "ml-models")
    assert finding.status == OK and "requests.memory: 32.00 GiB free" in finding.finding


def test_a_quota_too_small_is_a_problem(needs):
    small = quota({"requests.memory": "8Gi", "limits.cpu": "2", "pods": "10"})
    finding = pf.quota_finding([small], needs, "ml-models")
    assert finding.status == PROBLEM
    assert "requests.memory: 8.00 GiB free, the pod needs 12.00 GiB" in finding.finding
    assert "limits.cpu: 2 CPU free, the pod needs 4 CPU" in finding.finding
    assert "exceeded quota" in finding.finding


def test_the_tutorials_own_pod_does_not_count_against_its_successor(needs):
    """Recreate: the running vLLM pod goes before the new one comes."""
    full = quota(
        {"requests.nvidia.com/gpu": "1", "pods": "1"},
        {"requests.nvidia.com/gpu": "1", "pods": "1"},
    )
    assert pf.quota_finding([full], needs, "ml-models").status == PROBLEM
    assert pf.quota_finding([full], needs, "ml-models", [vllm_pod()]).status == OK
    finished = vllm_pod(phase="Succeeded")  # quota's used no longer counts it either
    assert pf.quota_finding([full], needs, "ml-models", [finished]).status == PROBLEM


# --- the report ---------------------------------------------------------------------------------


def report(*findings: pf.Finding) -> pf.Preflight:
    return pf.Preflight(context="eks-prod", namespace="ml-models", findings=list(findings))


def test_the_report_is_ok_without_problems_and_renders_as_a_table():
    good = report(
        pf.Finding(pf.GPU_NODE, OK, "gpu-1: 1 x nvidia.com/gpu"),
        pf.Finding(pf.NETWORK_POLICY, WARNING, "No known <engine>", "apply a deny-all policy"),
    )
    assert good.ok and good.problems == []
    assert good[pf.NETWORK_POLICY].status == WARNING
    html = good._repr_html_()
    assert "Preflight of eks-prod (namespace ml-models): ready" in html
    assert "#fff3cd" in html  # the warning's colour
    assert "No known &lt;engine&gt;" in html  # escaped
    frame = good.to_frame()
    assert list(frame.columns) == ["check", "status", "finding", "fix"]
    assert list(frame["status"]) == [OK, WARNING]
    with pytest.raises(KeyError, match="the checks"):
        good["GPU temperature"]


def test_a_problem_makes_the_report_not_ok_and_its_fix_is_printed():
    bad = report(pf.Finding(pf.QUOTA, PROBLEM, "Too small", "raise it"))
    assert not bad.ok and bad.problems == [bad[pf.QUOTA]]
    text = str(bad)
    assert "NOT READY, 1 problem(s)" in text
    assert "[problem] ResourceQuota: Too small\n    fix: raise it" in text


def test_an_unreachable_cluster_is_reported_not_raised(unreachable):
    result = tl.preflight(unreachable)
    assert [f.check for f in result.findings] == list(pf.CHECKS)
    assert not result.ok
    assert result[pf.GPU_NODE].status == PROBLEM
    assert "No answer from the API server" in result[pf.GPU_NODE].finding


def test_a_forbidden_cluster_is_reported_as_could_not_look(refusing_api):
    cluster = refusing_api(403, {"kind": "Status", "message": "forbidden: User cannot list"})
    result = tl.preflight(cluster)
    assert [f.check for f in result.findings] == list(pf.CHECKS)
    assert all(f.status == WARNING for f in result.findings), str(result)
    assert "Could not look" in result[pf.DEVICE_PLUGIN].finding
