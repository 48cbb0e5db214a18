"""The manifests, offline: they render, validate strictly, and keep the blog's lessons."""

from __future__ import annotations

import os
import subprocess
from functools import cache

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import ValidationError

from tests.helpers import OVERLAY_KINDS, ROOT
from tutorial_lib import names
from tutorial_lib.domain.sizing import GIB
from tutorial_lib.errors import ManifestError
from tutorial_lib.local import autoscaler
from tutorial_lib.tools import binaries, manifests

OVERLAYS = manifests.OVERLAYS
PACKAGE = ROOT / "tutorial_lib" / "local"


@cache
def render(overlay: str) -> tuple[dict, ...]:
    return tuple(manifests.render(manifests.overlay(overlay)))


def by_kind(overlay: str) -> dict[str, dict]:
    return {obj["kind"]: obj for obj in render(overlay)}


def container(overlay: str) -> dict:
    return by_kind(overlay)["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def quantity_bytes(value: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": GIB}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return int(float(value[: -len(suffix)]) * factor)
    return int(value)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_blogs_five_objects_and_a_serviceaccount(overlay):
    kinds = sorted(obj["kind"] for obj in render(overlay))
    assert kinds == OVERLAY_KINDS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_objects_validate_strictly_against_kubernetes_1_36(overlay):
    builtin = [obj for obj in render(overlay) if obj["kind"] != "ServiceMonitor"]
    assert len(builtin) == 5
    for obj in builtin:
        kubernetes_validate.validate(obj, "1.36", strict=True)


def test_strict_validation_names_an_unknown_field():
    deployment = yaml.safe_load(yaml.safe_dump(by_kind("local")["Deployment"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(ValidationError, match="resourcez"):
        kubernetes_validate.validate(deployment, "1.36", strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servicemonitor_validates_against_its_crd_schema(overlay):
    crd = yaml.safe_load(
        (PACKAGE / "crds" / "servicemonitors.monitoring.coreos.com.yaml").read_text()
    )
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    monitor = by_kind(overlay)["ServiceMonitor"]
    jsonschema.validate(monitor, schema)
    broken = yaml.safe_load(yaml.safe_dump(monitor))
    broken["spec"]["endpoints"][0]["interval"] = "thirty seconds"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_image_is_pinned_never_latest(overlay):
    image = container(overlay)["image"]
    assert ":" in image and not image.endswith(":latest")
    assert image == "vllm/vllm-openai:v0.26.0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_requests_fit_the_g6_xlarge_allocatable(overlay):
    allocatable = autoscaler.gpu_node()["status"]["allocatable"]
    requests = container(overlay)["resources"]["requests"]
    assert quantity_bytes(requests["memory"]) <= quantity_bytes(allocatable["memory"])
    assert quantity_bytes("14Gi") > quantity_bytes(allocatable["memory"]), "the blog's 14Gi"
    assert requests["nvidia.com/gpu"] == allocatable["nvidia.com/gpu"] == "1"


def test_command_is_explicit_so_args_do_not_repeat_serve():
    assert container("eks-l4")["command"] == ["vllm", "serve"]
    assert container("eks-l4")["args"][0] == "TheBloke/Mistral-7B-v0.1-AWQ"


def test_hf_home_is_really_on_a_volume():
    spec = by_kind("eks-l4")["Deployment"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in container("eks-l4")["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container("eks-l4")["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts[env["HF_HOME"]]]
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"


def test_local_overlay_differs_only_in_model_and_cpu_settings():
    eks, local = render("eks-l4"), render("local")
    assert [o for o in eks if o["kind"] != "Deployment"] == [
        o for o in local if o["kind"] != "Deployment"
    ]
    eks_c, local_c = container("eks-l4"), container("local")
    assert {k: v for k, v in eks_c.items() if k not in ("args", "env")} == {
        k: v for k, v in local_c.items() if k not in ("args", "env")
    }
    assert local_c["args"][0] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert local_c["args"][1:-1] == eks_c["args"][1:] and local_c["args"][-1] == "--enforce-eager"
    cpu_settings = {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "OMP_NUM_THREADS": "1",
        "TORCH_COMPILE_DISABLE": "1",
    }
    assert local_c["env"][: len(eks_c["env"])] == eks_c["env"]
    added = local_c["env"][len(eks_c["env"]) :]
    assert {var["name"]: var["value"] for var in added} == cpu_settings

    def pod_spec(overlay: str) -> dict:
        spec = by_kind(overlay)["Deployment"]["spec"]["template"]["spec"]
        return {k: v for k, v in spec.items() if k != "containers"}

    assert pod_spec("eks-l4") == pod_spec("local")


def test_local_base_overlay_differs_from_local_only_in_the_model():
    from tutorial_lib.local.runtime import BASE_MODEL_ID, MODEL_ID

    local, base = render("local"), render("local-base")
    assert [o for o in local if o["kind"] != "Deployment"] == [
        o for o in base if o["kind"] != "Deployment"
    ]
    local_c, base_c = container("local"), container("local-base")
    assert (local_c["args"][0], base_c["args"][0]) == (MODEL_ID, BASE_MODEL_ID)
    assert {**base_c, "args": base_c["args"][1:]} == {**local_c, "args": local_c["args"][1:]}


def test_pvc_component_replaces_the_model_cache_volume(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    relative = os.path.relpath(manifests.ROOT, overlay)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [f"{relative}/overlays/eks-l4"],
                "components": [f"{relative}/components/pvc-model-cache"],
            }
        )
    )
    proc = subprocess.run(
        [
            str(binaries.kubectl()),
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(overlay),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    objs = {o["kind"]: o for o in yaml.safe_load_all(proc.stdout)}
    volumes = {v["name"]: v for v in objs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == "vllm-model-cache"
    assert objs["PersistentVolumeClaim"]["metadata"]["name"] == "vllm-model-cache"


SERVICEMONITOR = manifests.ROOT / "base" / "servicemonitor.yaml"
RELEASE_COMPONENT = manifests.ROOT / "components" / "prometheus-release" / "kustomization.yaml"


def test_the_release_name_is_written_once_and_matches_names():
    """One value in the component; the local Prometheus selects the same (names.py)."""
    component = yaml.safe_load(RELEASE_COMPONENT.read_text())
    (patch,) = component["patches"]
    (operation,) = yaml.safe_load(patch["patch"])
    assert operation["path"] == f"/metadata/labels/{names.PROMETHEUS_RELEASE_LABEL}"
    assert operation["value"] == names.PROMETHEUS_RELEASE == "kube-prometheus-stack"
    for target in (manifests.ROOT / "base", manifests.ROOT / "monitoring"):
        text = (target / "kustomization.yaml").read_text()
        assert "../components/prometheus-release" in text, target
    for path in (manifests.ROOT / "monitoring" / "prometheusrule.yaml", SERVICEMONITOR):
        assert "release" not in yaml.safe_load(path.read_text())["metadata"]["labels"], path


@pytest.mark.parametrize("target", [*OVERLAYS, "monitoring"])
def test_only_the_servicemonitor_and_prometheusrule_carry_the_release_label(target):
    path = manifests.ROOT / "monitoring" if target == "monitoring" else manifests.overlay(target)
    objects = manifests.render(path)
    labelled = {
        obj["kind"]
        for obj in objects
        if (obj["metadata"].get("labels") or {}).get("release") == names.PROMETHEUS_RELEASE
    }
    kinds = {obj["kind"] for obj in objects}
    assert labelled == kinds & {"ServiceMonitor", "PrometheusRule"}
    assert labelled  # each target has one of them


def test_a_part_of_the_rendered_deployment_is_shown_under_its_own_key():
    overlay = manifests.overlay("eks-l4")
    shown = manifests.part(overlay, "Deployment", "spec.template.spec.tolerations")
    assert yaml.safe_load(shown) == {
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
        ]
    }
    assert repr(shown) == str(shown), "shown as YAML, not as a quoted string"


def test_a_part_that_is_not_there_names_the_keys_that_are():
    typo = "spec.template.spec.containers[0].resorces"
    with pytest.raises(ManifestError, match="stopped at 'resorces'") as missing:
        manifests.part(manifests.overlay("local"), "Deployment", typo)
    assert "resources" in str(missing.value)


@pytest.mark.parametrize("target", ["overlays/local", "overlays/eks-l4", "monitoring"])
def test_rendered_for_another_namespace_nothing_names_the_tutorials(target):
    """Metadata, the ServiceMonitor's selector, the alert's PromQL and text all move."""
    moved = manifests.render(ROOT / "manifests" / target, "attendee-01")
    text = yaml.safe_dump_all(moved)
    assert names.NAMESPACE not in text
    assert all(o["metadata"]["namespace"] == "attendee-01" for o in moved)
    assert "Namespace" not in {o["kind"] for o in moved}  # the instructor's, not the attendee's
    original = manifests.render(ROOT / "manifests" / target)
    assert len(moved) == len([o for o in original if o["kind"] != "Namespace"])


def test_a_moved_servicemonitor_selects_its_own_namespace_and_the_alert_watches_it():
    moved = {o["kind"]: o for o in manifests.render(ROOT / "manifests/overlays/local", "team-a")}
    assert moved["ServiceMonitor"]["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}
    rules = manifests.render(ROOT / "manifests/monitoring", "team-a")
    rule = next(o for o in rules if o["kind"] == "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any('namespace="team-a"' in expr for expr in exprs)


@pytest.mark.parametrize("name", ["attendee.yaml", "cluster.yaml"])
def test_workshop_objects_validate_strictly_against_kubernetes_1_36(name):
    for obj in manifests.render(ROOT / "manifests" / "workshop" / name, "attendee-01"):
        kubernetes_validate.validate(obj, "1.36", strict=True)


def test_a_workshop_quota_admits_the_deployment_and_the_blogs_14gi_try_but_not_two_gpus():
    """One pod as the manifests ask, and the 14Gi/16Gi pod notebook 03 shows Pending."""
    room = manifests.render(ROOT / "manifests" / "workshop" / "attendee.yaml", "attendee-01")
    hard = next(o for o in room if o["kind"] == "ResourceQuota")["spec"]["hard"]
    resources = container("local")["resources"]
    assert quantity_bytes(hard["requests.memory"]) >= 14 * GIB
    assert quantity_bytes(hard["limits.memory"]) >= 16 * GIB
    assert quantity_bytes(resources["limits"]["memory"]) <= quantity_bytes(hard["limits.memory"])
    assert int(hard["requests.cpu"]) >= int(resources["requests"]["cpu"])
    assert hard[f"requests.{names.GPU_RESOURCE}"] == resources["requests"][names.GPU_RESOURCE]


def test_the_karpenter_nodepool_makes_nodes_the_deployment_fits_and_no_more_than_the_blogs():
    """Its label is the nodeSelector, its taint is tolerated, g6.xlarge only, at most two."""
    pool = next(
        o for o in manifests.render(ROOT / "manifests/karpenter") if o["kind"] == "NodePool"
    )
    template = pool["spec"]["template"]
    pod = by_kind("eks-l4")["Deployment"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"].items() <= template["metadata"]["labels"].items()
    tolerated = {(t["key"], t.get("value"), t["effect"]) for t in pod["tolerations"]}
    assert {(t["key"], t["value"], t["effect"]) for t in template["spec"]["taints"]} <= tolerated
    types = next(
        r
        for r in template["spec"]["requirements"]
        if r["key"] == "node.kubernetes.io/instance-type"
    )
    assert types == {
        "key": "node.kubernetes.io/instance-type",
        "operator": "In",
        "values": ["g6.xlarge"],
    }
    assert pool["spec"]["limits"] == {names.GPU_RESOURCE: "2"}  # the node group's 0-2
    assert pool["spec"]["disruption"]["consolidateAfter"] == "10m"  # the blog's idle time


def test_the_local_nodepool_is_the_eks_one_with_the_kwok_node_class_and_a_shorter_delay():
    def pool(target):
        return next(o for o in manifests.render(target) if o["kind"] == "NodePool")

    eks, local = pool(ROOT / "manifests/karpenter"), pool(autoscaler.NODEPOOL)
    assert local["spec"]["template"]["spec"]["nodeClassRef"] == {
        "group": "karpenter.kwok.sh",
        "kind": "KWOKNodeClass",
        "name": "gpu-vllm",
    }
    assert local["spec"]["disruption"]["consolidateAfter"] == "1m"
    assert local["spec"]["template"]["metadata"]["labels"].pop("nvidia.com/gpu.product") == (
        "NVIDIA-L4"
    )
    for changed in (local, eks):
        del changed["spec"]["template"]["spec"]["nodeClassRef"]
        del changed["spec"]["disruption"]["consolidateAfter"]
    assert local == eks
