"""manifests/monitoring offline: the rules pass promtool, the objects match their schemas."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from tutorial_lib import manifests, prometheus
from tutorial_lib.local import paths

OBJECTS = {obj["kind"]: obj for obj in manifests.render(prometheus.MONITORING)}


def crd_schema(name: str) -> dict:
    crd = yaml.safe_load(paths.package_text(f"crds/{name}"))
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_rules_pass_promtool():
    report = prometheus.check_rules(prometheus.rule_groups())
    assert "SUCCESS: 4 rules found" in report


def test_promtool_rejects_a_broken_expression():
    groups = copy.deepcopy(prometheus.rule_groups())
    groups[0]["rules"][0]["expr"] = "sum by (model_name) (vllm:num_requests_waiting > "
    with pytest.raises(prometheus.PrometheusError, match="promtool rejected"):
        prometheus.check_rules(groups)


def test_prometheusrule_validates_against_its_crd_schema():
    schema = crd_schema("prometheusrules.monitoring.coreos.com.yaml")
    jsonschema.validate(OBJECTS["PrometheusRule"], schema)
    broken = copy.deepcopy(OBJECTS["PrometheusRule"])
    broken["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_dashboard_configmap_is_labelled_for_grafanas_sidecar():
    configmap = OBJECTS["ConfigMap"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["vllm.json"])
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert titles == list(dict.fromkeys(prometheus.dashboard_queries()["panel"]))
    assert {"Time to first token", "KV cache usage", "Tokens per second"} <= set(titles)


def test_dashboard_queries_are_sent_with_grafanas_variables_substituted():
    for expr in prometheus.dashboard_queries()["expr"]:
        assert "$" not in expr, expr
