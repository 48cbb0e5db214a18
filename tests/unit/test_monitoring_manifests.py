"""manifests/monitoring offline: the objects match their schemas, the PromQL names real metrics.

promtool's verdict on the rules is in tests/tools (it needs the Go-built promtool).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tutorial_lib.errors import PrometheusError
from tutorial_lib.local import paths
from tutorial_lib.serving import vllm_metrics
from tutorial_lib.tools import manifests, monitoring

OBJECTS = {obj["kind"]: obj for obj in manifests.render(monitoring.MONITORING)}
SCRAPE = (Path(__file__).parent / "fixtures" / "vllm-0.26-cpu-metrics.txt").read_text()
VLLM_METRIC = re.compile(r"vllm:[a-z0-9_:]+")


def crd_schema(name: str) -> dict:
    crd = yaml.safe_load(paths.package_text(f"crds/{name}"))
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


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
    assert configmap["metadata"]["namespace"] == "ml-models"
    # The ConfigMap carries the dashboard file unchanged.
    dashboard = json.loads(configmap["data"]["vllm.json"])
    assert dashboard == json.loads(monitoring.DASHBOARD.read_text())
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert {"Time to first token", "KV cache usage", "Tokens per second"} <= set(titles)


def test_dashboard_queries_are_sent_with_grafanas_variables_substituted():
    raw = monitoring.DASHBOARD.read_text()
    assert "$model_name" in raw and "$__rate_interval" in raw
    queries = monitoring.dashboard_queries()
    assert len(queries) >= 1
    for expr in queries["expr"]:
        assert "$" not in expr, expr
    p95 = monitoring.dashboard_query("Time to first token", "p95")
    assert p95.startswith("histogram_quantile(0.95,") and 'model_name=~".*"' in p95
    assert "[2m]" in p95


def test_an_unknown_dashboard_query_names_the_panels():
    with pytest.raises(PrometheusError, match="Time to first token"):
        monitoring.dashboard_query("GPU temperature", "p95")


def test_rules_and_dashboard_query_only_metrics_vllm_exposes():
    """Each vllm: name in the PromQL exists in a scrape of a real vLLM (0.26, CPU build)."""
    exposed = set(vllm_metrics.parse(SCRAPE)["sample"])
    used = {name for expr in monitoring.expressions() for name in VLLM_METRIC.findall(expr)}
    assert len(used) >= 5, used
    missing = {name for name in used if name not in exposed}
    assert not missing, f"not exposed by vLLM: {sorted(missing)}"


def test_rules_use_no_renamed_metric():
    renamed = set(vllm_metrics.RENAMED)
    for expr in monitoring.expressions():
        found = {name.removesuffix("_bucket") for name in VLLM_METRIC.findall(expr)}
        assert not found & renamed, expr
