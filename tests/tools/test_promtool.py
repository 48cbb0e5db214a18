"""The tutorial's alert rules, checked by promtool (built from the Go module proxy)."""

from __future__ import annotations

import copy

import pytest

from tutorial_lib.errors import PrometheusError
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
