"""The local GPU node group's instance type: what Karpenter's kwok provider is told."""

from __future__ import annotations

import pytest

from tests.unit.test_manifests import container, quantity_bytes
from tutorial_lib.domain import prices
from tutorial_lib.local import autoscaler


def _launched_allocatable(instance: dict) -> dict[str, str]:
    """What the provider's node offers: the instance's resources less its fixed overhead."""
    resources = dict(instance["resources"])
    cpu = int(resources["cpu"].removesuffix("m")) - autoscaler.PROVIDER_OVERHEAD["cpu"]
    memory = int(resources["memory"].removesuffix("Mi")) - autoscaler.PROVIDER_OVERHEAD["memory"]
    return resources | {"cpu": f"{cpu}m", "memory": f"{memory}Mi"}


def test_a_launched_node_offers_what_an_eks_g6_xlarge_kubelet_offers():
    (instance,) = autoscaler.instance_types()
    assert instance["name"] == "g6.xlarge"
    expected = autoscaler.gpu_node()["status"]["allocatable"]
    assert _launched_allocatable(instance) == expected
    assert expected["memory"] == "14119Mi" and expected["cpu"] == "3920m"


def test_the_blogs_14gi_fits_no_launched_node_and_the_fix_does():
    allocatable = _launched_allocatable(autoscaler.instance_types()[0])
    assert quantity_bytes("14Gi") > quantity_bytes(allocatable["memory"])
    fixed = container("local")["resources"]["requests"]["memory"]
    assert quantity_bytes(fixed) <= quantity_bytes(allocatable["memory"])


def test_on_demand_at_the_blogs_price_in_the_blogs_region():
    (offering,) = autoscaler.instance_types()[0]["offerings"]
    assert offering["Price"] == prices.G6_XLARGE_PER_HOUR == 0.70
    requirements = {r["key"]: r["values"] for r in offering["Requirements"]}
    assert requirements == {
        "karpenter.sh/capacity-type": ["on-demand"],
        "topology.kubernetes.io/zone": ["eu-central-1a"],
    }


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [("3920m", "m", 3920), ("4", "m", 4000), ("16Gi", "Mi", 16384), ("14119Mi", "Mi", 14119)],
)
def test_quantities_of_the_node_file(value, unit, expected):
    assert autoscaler._quantity(value, unit) == expected
