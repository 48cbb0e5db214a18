"""manifests/karpenter against the CRDs of Karpenter's AWS provider, read from the module proxy.

The CRDs' OpenAPI schemas are checked here (types, enums, patterns, required fields); their
CEL rules (``x-kubernetes-validations``) only an API server with the CRDs installed runs.
"""

from __future__ import annotations

import copy
import io
import zipfile
from functools import cache

import jsonschema
import pytest
import yaml

from tutorial_lib.tools import downloads, gomodules, manifests, versions

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


def test_our_hash_of_the_proxys_zip_is_the_one_go_recorded():
    """The zip straight from the proxy, hashed by us, against the pin taken from Go itself."""
    module, version = versions.KARPENTER_AWS
    raw = downloads.fetch(f"{gomodules.proxy()}/{gomodules.escaped(module)}/@v/{version}.zip")
    assert gomodules.hash1(zipfile.ZipFile(io.BytesIO(raw))) == versions.KARPENTER_AWS_H1


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_each_object_validates_against_its_crd_schema(kind):
    obj = objects()[kind]
    jsonschema.validate(obj, schema(kind, obj["apiVersion"]))


def test_a_policy_karpenter_does_not_know_is_refused():
    pool = copy.deepcopy(objects()["NodePool"])
    pool["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"
    with pytest.raises(jsonschema.ValidationError, match="WhenIdle"):
        jsonschema.validate(pool, schema("NodePool", pool["apiVersion"]))
