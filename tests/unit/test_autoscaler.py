"""The local GPU node group's instance type: what Karpenter's kwok provider is told.

That a launched node offers exactly what gpu-node.yaml says is proven against the real
provider (tests/cluster/test_cluster.py); here, what the file itself must state.
"""

from __future__ import annotations

from tutorial_lib.local import autoscaler


def test_g6_xlarge_only_on_demand_at_the_blogs_price_in_the_blogs_region():
    (instance,) = autoscaler.instance_types()
    assert instance["name"] == "g6.xlarge" and instance["resources"]["nvidia.com/gpu"] == "1"
    (offering,) = instance["offerings"]
    assert offering["Price"] == 0.70  # "~$0.70 pro Stunde"
    requirements = {r["key"]: r["values"] for r in offering["Requirements"]}
    assert requirements == {
        "karpenter.sh/capacity-type": ["on-demand"],
        "topology.kubernetes.io/zone": ["eu-central-1a"],  # the blog's eu-central-1
    }
