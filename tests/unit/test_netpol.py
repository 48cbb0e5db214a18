"""NetworkPolicy semantics on concrete flows, decided by a real policy engine (cyclonus)."""

from __future__ import annotations

import pytest
import yaml

from tutorial_lib import manifests, netpol
from tutorial_lib.errors import TutorialError


def verdict(table, flow: netpol.Flow) -> bool:
    return bool(table.set_index("flow").loc[str(flow), "allowed"])


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_corrected_policy_gives_every_expected_verdict(overlay):
    table = netpol.verdicts(manifests.overlay(overlay), netpol.TUTORIAL_FLOWS)
    assert table["correct"].all(), table[~table["correct"]].to_string()


def test_blogs_policy_misses_the_internet_and_dns_over_tcp_and_lets_everyone_in():
    table = netpol.verdicts(netpol.BLOG_POLICY, netpol.TUTORIAL_FLOWS)
    wrong = set(table.loc[~table["correct"], "flow"])
    assert wrong == {
        str(netpol.Flow(netpol.VLLM, netpol.HUGGING_FACE, 443)),  # namespaceSelector ≠ internet
        str(netpol.Flow(netpol.VLLM, netpol.KUBE_DNS, 53, "TCP")),
        str(netpol.Flow(netpol.VLLM, netpol.OTHER_POD, 443)),  # ...but every pod on 443
        str(netpol.Flow(netpol.OTHER_POD, netpol.VLLM, 8000)),  # no ingress rule
    }


def test_metadata_address_is_denied_by_the_except_entry_not_by_chance(tmp_path):
    policy = netpol.policies(manifests.ROOT / "base")[0]
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:
                peer["ipBlock"]["except"].remove("169.254.169.254/32")
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text(yaml.safe_dump(policy))
    to_metadata = netpol.Flow(netpol.VLLM, netpol.METADATA, 443)
    assert not verdict(netpol.verdicts(manifests.ROOT / "base", [to_metadata]), to_metadata)
    assert verdict(netpol.verdicts(relaxed, [to_metadata]), to_metadata)


def test_a_file_without_policies_is_refused_with_a_hint(tmp_path):
    empty = tmp_path / "service.yaml"
    empty.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    with pytest.raises(TutorialError, match="No NetworkPolicy"):
        netpol.verdicts(empty, [netpol.Flow(netpol.VLLM, netpol.HUGGING_FACE, 443)])
