"""Reading Karpenter's words and durations, and pricing node lifetimes; no cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tutorial_lib.kube import nodegroup


@pytest.mark.parametrize(
    ("duration", "expected"), [("10m", 600), ("1m", 60), ("30s", 30), ("1h30m", 5400)]
)
def test_durations_as_karpenter_writes_them(duration, expected):
    assert nodegroup.seconds(duration) == expected


@pytest.mark.parametrize("duration", ["", "10", "ten minutes", "1m30x", "Never"])
def test_other_durations_are_refused(duration):
    with pytest.raises(ValueError, match="not a duration"):
        nodegroup.seconds(duration)


def test_karpenters_reason_keeps_the_verdict_and_the_resources():
    message = (
        "Failed to schedule pod, no instance type has enough resources, requirements="
        "karpenter.sh/capacity-type In [on-demand], workload In [gpu-vllm], "
        'resources={"cpu":"3","memory":"14Gi","nvidia.com/gpu":"1"}'
    )
    assert nodegroup._shortened(message) == (
        "Failed to schedule pod, no instance type has enough resources, "
        'resources={"cpu":"3","memory":"14Gi","nvidia.com/gpu":"1"}'
    )
    incompatible = "Failed to schedule pod, incompatible requirements, key workload"
    assert nodegroup._shortened(incompatible) == incompatible


def test_a_bill_prices_each_lifetime_and_a_running_node_until_now():
    launched = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    gone = nodegroup.NodeLife("a", "g6.xlarge", launched, launched + timedelta(minutes=30))
    running = nodegroup.NodeLife("b", "g6.xlarge", datetime.now(UTC) - timedelta(hours=2))
    other = nodegroup.NodeLife("c", "m6i.xlarge", launched, launched + timedelta(hours=1))
    bill = nodegroup.bill([gone, running, other]).set_index("node")
    assert bill.loc["a", "minutes"] == 30 and bill.loc["a", "USD"] == 0.35
    assert bill.loc["b", "removed"] == "still running"
    assert bill.loc["b", "USD"] == pytest.approx(1.40, abs=0.01)
    assert pd.isna(bill.loc["c", "USD"])  # no price known: none made up
