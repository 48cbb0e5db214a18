"""Reading Karpenter's words and durations, and pricing node lifetimes; no cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from kubernetes.client import CoreV1Event, V1ObjectMeta, V1ObjectReference

from tutorial_lib.errors import ClusterError
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


class _Refused:
    """A connection whose every request the API server refuses with 403."""

    custom = SimpleNamespace(list_cluster_custom_object=None)
    local = True

    def call(self, method, *args, **kwargs):
        raise ClusterError("list: 403 Forbidden", status=403)


def test_an_account_that_may_not_read_karpenter_sees_no_nodepool():
    assert nodegroup.nodepools(_Refused()) == []
    assert nodegroup.node_group(_Refused()).empty


def test_a_static_node_is_not_waited_for():
    static = nodegroup.NodeLife("room-gpu", "g6.xlarge", datetime.now(UTC), autoscaled=False)
    with pytest.raises(ClusterError, match="static node of the local cluster: nothing removes"):
        nodegroup.wait_node_gone(_Refused(), static)


def _event(reason: str, first: datetime, last: datetime | None = None):
    return CoreV1Event(
        involved_object=V1ObjectReference(),
        metadata=V1ObjectMeta(name=reason),
        reason=reason,
        first_timestamp=first,
        last_timestamp=last or first,
    )


def test_a_repeated_event_counts_when_it_was_last_seen():
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    refused = _event("FailedScheduling", start, start + timedelta(seconds=30))
    nominated = _event("Nominated", start + timedelta(seconds=10))
    assert max([refused, nominated], key=nodegroup._last_seen) is refused
