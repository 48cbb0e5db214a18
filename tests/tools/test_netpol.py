"""NetworkPolicy semantics on concrete flows, decided by a real policy engine (cyclonus)."""

from __future__ import annotations

import pytest
import yaml

from tutorial_lib.domain import flows
from tutorial_lib.domain.flows import Flow
from tutorial_lib.errors import TutorialError
from tutorial_lib.tools import manifests, netpol


def verdict(table, flow: Flow) -> bool:
    return bool(table.set_index("flow").loc[str(flow), "allowed"])


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_corrected_policy_gives_every_expected_verdict(overlay):
    table = netpol.verdicts(manifests.overlay(overlay), flows.TUTORIAL_FLOWS)
    assert len(table) == len(flows.TUTORIAL_FLOWS)
    assert table["correct"].all(), table[~table["correct"]].to_string()


def test_blogs_policy_misses_the_internet_and_dns_over_tcp_and_lets_everyone_in():
    table = netpol.verdicts(netpol.BLOG_POLICY, flows.TUTORIAL_FLOWS)
    wrong = set(table.loc[~table["correct"], "flow"])
    assert wrong == {
        str(Flow(flows.VLLM, flows.HUGGING_FACE, 443)),  # namespaceSelector ≠ internet
        str(Flow(flows.VLLM, flows.KUBE_DNS, 53, "TCP")),
        str(Flow(flows.VLLM, flows.OTHER_POD, 443)),  # ...but every pod on 443
        str(Flow(flows.OTHER_POD, flows.VLLM, 8000)),  # no ingress rule
    }


def test_metadata_address_is_denied_by_the_except_entry_not_by_chance(tmp_path):
    policy = netpol.policies(manifests.ROOT / "base")[0]
    removed = 0
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:
                peer["ipBlock"]["except"].remove("169.254.169.254/32")
                removed += 1
    assert removed, "the policy has an ipBlock excepting the metadata address"
    relaxed = tmp_path / "relaxed.yaml"
    relaxed.write_text(yaml.safe_dump(policy))
    to_metadata = Flow(flows.VLLM, flows.METADATA, 443)
    assert not verdict(netpol.verdicts(manifests.ROOT / "base", [to_metadata]), to_metadata)
    assert verdict(netpol.verdicts(relaxed, [to_metadata]), to_metadata)


def test_without_expectations_the_table_has_only_verdicts():
    to_dns = Flow(flows.VLLM, flows.KUBE_DNS, 53, "UDP")
    table = netpol.verdicts(manifests.overlay("local"), [to_dns])
    assert list(table.columns) == ["flow", "allowed"]
    assert verdict(table, to_dns)


def test_compare_sets_the_blogs_policy_beside_the_corrected_one():
    table = netpol.compare(
        {"blog": netpol.BLOG_POLICY, "corrected": manifests.overlay("eks-l4")},
        flows.TUTORIAL_FLOWS,
    ).set_index("flow")
    assert (table["corrected"] == table["expected"]).all()
    to_hugging_face = str(Flow(flows.VLLM, flows.HUGGING_FACE, 443))
    assert table.loc[to_hugging_face, "expected"] and not table.loc[to_hugging_face, "blog"]


def test_a_file_without_policies_is_refused_with_a_hint(tmp_path):
    empty = tmp_path / "service.yaml"
    empty.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    with pytest.raises(TutorialError, match="No NetworkPolicy") as caught:
        netpol.verdicts(empty, [Flow(flows.VLLM, flows.HUGGING_FACE, 443)])
    assert caught.value.hint
