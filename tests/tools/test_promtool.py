"""The tutorial's alert rules, checked by promtool (built from the Go module proxy)."""

from __future__ import annotations

import copy

import pytest

from tutorial_lib.errors import PrometheusError
from tutorial_lib.local import binaries as cluster_binaries
from tutorial_lib.local import monitoring as local_monitoring
from tutorial_lib.local import monitoring_check
from tutorial_lib.tools import monitoring


def test_rules_pass_promtool():
    groups = monitoring.rule_groups()
    count = sum(len(group["rules"]) for group in groups)
    assert count >= 1
    report = monitoring.check_rules(groups)
    assert f"SUCCESS: {count} rules found" in report


def test_promtool_rejects_a_broken_expression():
    groups = copy.deepcopy(monitoring.rule_groups())
    groups[0]["rules"][0]["expr"] = "sum by (model_name) (vllm:num_requests_waiting > "
    with pytest.raises(PrometheusError, match="promtool rejected") as caught:
        monitoring.check_rules(groups)
    assert "parse error" in caught.value.message


def test_promtool_rejects_a_malformed_duration():
    groups = copy.deepcopy(monitoring.rule_groups())
    alert = next(rule for group in groups for rule in group["rules"] if "alert" in rule)
    alert["for"] = "five minutes"
    with pytest.raises(PrometheusError, match="promtool rejected"):
        monitoring.check_rules(groups)


def test_a_bad_monitor_or_rule_is_left_out_and_the_rest_loaded():
    """What the local Prometheus is given when one room's objects are broken (issue 28)."""

    def monitor(namespace: str, interval: str, timeout: str) -> dict:
        return {
            "metadata": {"namespace": namespace, "name": "vllm", "labels": {"release": "x"}},
            "spec": {
                "endpoints": [{"port": "http", "interval": interval, "scrapeTimeout": timeout}]
            },
        }

    rules = copy.deepcopy(monitoring.rule_groups())
    broken = copy.deepcopy(rules)
    broken[0]["rules"][0]["expr"] = "sum by (model_name) (vllm:num_requests_waiting > "
    wanted = local_monitoring.desired(
        monitors=[monitor("room-a", "30s", "10s"), monitor("room-b", "30s", "60s")],
        rules=[
            {"metadata": {"namespace": "room-a", "name": "alerts"}, "spec": {"groups": rules}},
            {"metadata": {"namespace": "room-b", "name": "alerts"}, "spec": {"groups": broken}},
        ],
        monitor_selector={},
        rule_selector={},
    )
    promtool = monitoring_check.Promtool(cluster_binaries.ensure("promtool")["promtool"])
    refusals = monitoring_check.leave_out_refused(wanted.files, promtool.problem)
    assert {(r.kind, r.namespace, r.name) for r in refusals} == {
        ("ServiceMonitor", "room-b", "vllm"),
        ("PrometheusRule", "room-b", "alerts"),
    }
    assert any("scrape timeout greater than scrape interval" in r.report for r in refusals)
    assert any("parse error" in r.report for r in refusals)
    assert sorted(wanted.files) == [
        "prometheus.yml",
        "rules/room-a_alerts.yaml",
        "targets/room-a_vllm_0.json",
    ]
    assert promtool.problem("config", wanted.files["prometheus.yml"]) is None
