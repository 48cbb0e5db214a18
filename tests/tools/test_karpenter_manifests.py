"""manifests/karpenter against the CRDs of Karpenter's AWS provider, read from the module proxy.

The CRDs' OpenAPI schemas are checked here (types, enums, patterns, required fields); their
CEL rules (``x-kubernetes-validations``) only an API server with the CRDs installed runs.
"""

from __future__ import annotations

import copy
import zipfile
from functools import cache

import jsonschema
import pytest
import yaml

from tutorial_lib.tools import gomodules, manifests, versions

KARPENTER = manifests.ROOT / "karpenter"
CRDS = {
    "NodePool": "pkg/apis/crds/karpenter.sh_nodepools.yaml",
    "EC2NodeClass": "pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
}


@cache
def schema(kind: str, api_version: str) -> dict:
    module, version = versions.KARPENTER_AWS
    crd = yaml.safe_load(gomodules.read(module, version, versions.KARPENTER_AWS_H1, CRDS[kind]))
    served = {v["name"]: v for v in crd["spec"]["versions"]}
    return served[api_version.split("/")[1]]["schema"]["openAPIV3Schema"]


def objects() -> dict[str, dict]:
    return {obj["kind"]: obj for obj in manifests.render(KARPENTER)}


def test_the_pinned_hash_is_the_one_go_records():
    """Our dirhash of the real zip equals go.sum's line for the module (Go's own figure)."""
    module, version = versions.KARPENTER_AWS
    archive = gomodules.module_zip(module, version, versions.KARPENTER_AWS_H1)
    assert isinstance(archive, zipfile.ZipFile)
    assert gomodules.hash1(archive) == versions.KARPENTER_AWS_H1


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_each_object_validates_against_its_crd_schema(kind):
    obj = objects()[kind]
    jsonschema.validate(obj, schema(kind, obj["apiVersion"]))


def test_a_policy_karpenter_does_not_know_is_refused():
    pool = copy.deepcopy(objects()["NodePool"])
    pool["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"
    with pytest.raises(jsonschema.ValidationError, match="WhenIdle"):
        jsonschema.validate(pool, schema("NodePool", pool["apiVersion"]))
