"""The tutorial's alert rules and Grafana dashboard: rendered, read, checked with promtool.

``manifests/monitoring`` holds a PrometheusRule and the dashboard's ConfigMap; the helpers
here list their PromQL so tests and notebooks can check every expression against a real
Prometheus (``tutorial_lib.serving.promql``) and promtool.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from tutorial_lib.errors import PrometheusError
from tutorial_lib.tools import binaries, manifests, process

MONITORING = manifests.ROOT / "monitoring"
DASHBOARD = MONITORING / "dashboards" / "vllm.json"
#: What Grafana substitutes before it sends a dashboard query.
GRAFANA_VARIABLES = {"$model_name": ".*", "$__rate_interval": "2m"}


def rule_groups(target: str | Path = MONITORING) -> list[dict]:
    """The rule groups of the PrometheusRules in ``target`` (what the Operator loads)."""
    groups = []
    for obj in manifests.render(target):
        if obj.get("kind") == "PrometheusRule":
            groups += obj["spec"]["groups"]
    return groups


def dashboard_queries(path: str | Path = DASHBOARD) -> pd.DataFrame:
    """Each panel's queries: panel, legend, the PromQL as Grafana sends it."""
    dashboard = json.loads(Path(path).read_text())
    rows = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            legend = target.get("legendFormat", "").replace("{{model_name}}", "").strip()
            rows.append({"panel": panel["title"], "legend": legend, "expr": expr})
    return pd.DataFrame(rows, columns=["panel", "legend", "expr"])


def dashboard_query(panel: str, legend: str, path: str | Path = DASHBOARD) -> str:
    """One panel's query, e.g. ``dashboard_query("Time to first token", "p95")``."""
    table = dashboard_queries(path)
    match = table[(table["panel"] == panel) & (table["legend"] == legend)]
    if match.empty:
        raise PrometheusError(
            f"The dashboard has no query {legend!r} in panel {panel!r}.",
            f"Panels: {', '.join(dict.fromkeys(table['panel']))}",
        )
    return str(match["expr"].iloc[0])


def expressions(target: str | Path = MONITORING) -> list[str]:
    """Every PromQL expression of the rules and the dashboard."""
    rules = [rule["expr"] for group in rule_groups(target) for rule in group["rules"]]
    return rules + list(dashboard_queries()["expr"])


def check_rules(groups: list[dict]) -> str:
    """``promtool check rules`` on the groups; its report, or PrometheusError with it."""
    promtool = binaries.tool(binaries.PROMTOOL)
    with tempfile.TemporaryDirectory(prefix="rules-") as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump({"groups": groups}))
        proc = process.run([promtool, "check", "rules", path], timeout=60)
    report = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise PrometheusError(f"promtool rejected the rules:\n{report}", "Fix the PromQL.")
    return report
