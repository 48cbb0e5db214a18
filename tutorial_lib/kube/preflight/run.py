"""Run every check against a cluster: each fact asked once, each check judged, one report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, Unreachable
from tutorial_lib.kube import objects
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.preflight import report
from tutorial_lib.kube.preflight.facts import Facts
from tutorial_lib.kube.preflight.gpu import device_plugin_finding, driver_finding
from tutorial_lib.kube.preflight.monitoring import LOCAL_PROMETHEUS, crd_finding, selection_finding
from tutorial_lib.kube.preflight.needs import Needs, Ours
from tutorial_lib.kube.preflight.network import network_policy_finding
from tutorial_lib.kube.preflight.nodes import gpu_node_findings
from tutorial_lib.kube.preflight.quota import quota_finding
from tutorial_lib.kube.preflight.report import Finding, Preflight
from tutorial_lib.tools import manifests, monitoring

#: A check and how to judge it; the judge may raise ClusterError (it could not look).
Judge = tuple[str, Callable[[], Finding]]


def _could_not_look(check: str, exc: ClusterError) -> Finding:
    """A check without an answer: a problem when the cluster is away, else a warning (403)."""
    if isinstance(exc, Unreachable):
        return Finding(check, report.PROBLEM, exc.message, exc.hint or "")
    return Finding(check, report.WARNING, f"Could not look: {exc.message}", exc.hint or "")


def _guarded(check: str, judge: Callable[[], Finding]) -> Finding:
    try:
        return judge()
    except ClusterError as exc:
        return _could_not_look(check, exc)


def _ours(
    facts: Facts,
    obj: dict[str, Any] | None,
    plural: str,
    namespace: str,
    origin: str,
    *,
    compare_applied: bool = True,
) -> Ours:
    kind = "ServiceMonitor" if plural == "servicemonitors" else "PrometheusRule"
    if obj is None:
        return Ours(kind, {}, f"no {kind} in {origin}", namespace, {})
    ns_labels = facts.namespace_labels(namespace)
    if ns_labels is None:  # what the API server will set when the namespace is created
        ns_labels = {"kubernetes.io/metadata.name": namespace}
    return Ours(
        kind,
        obj["metadata"].get("labels") or {},
        f"the {kind} of {origin}",
        namespace,
        ns_labels,
        applied=facts.custom_labels(plural, namespace, obj["metadata"]["name"])
        if compare_applied
        else None,
    )


def _origin(target: str | Path) -> str:
    path = Path(target).resolve()
    try:
        return str(path.relative_to(manifests.ROOT.parent))
    except ValueError:
        return str(path)


def monitor_selection(cluster: Connection, monitor: dict[str, Any], origin: str) -> Finding:
    """Whether a Prometheus of the cluster selects this ServiceMonitor, as the Operator would.

    ``monitor`` need not be applied: its labels as given decide. ``origin`` names where it
    comes from in the finding (a file).
    """
    namespace = monitor["metadata"].get("namespace") or cluster.namespace
    facts = Facts(cluster)

    def judge() -> Finding:
        ours = _ours(facts, monitor, "servicemonitors", namespace, origin, compare_applied=False)
        prometheuses = [LOCAL_PROMETHEUS] if cluster.local else facts.prometheuses()
        return selection_finding(ours, prometheuses, local=cluster.local)

    return _guarded(report.MONITOR_SELECTED, judge)


def preflight(
    cluster: Connection,
    namespace: str | None = None,
    *,
    target: str | Path | None = None,
    rules: str | Path | None = None,
    nodes: str | None = None,
) -> Preflight:
    """Check the cluster against what the manifests need; every finding with its fix.

    ``target`` is the overlay to check (``cluster.overlay`` by default), ``rules`` the
    PrometheusRule's folder (``manifests/monitoring``), ``nodes`` a label selector for the
    nodes to consider (``eks.amazonaws.com/nodegroup=gpu-l4``; all by default, and then
    Karpenter's NodePools too, for the nodes they would launch). Never
    raises for what it finds: an unreachable cluster or a refused request is a finding too.

    kubectl equivalents: see the package's docstring (``tutorial_lib.kube.preflight``).
    """
    namespace = namespace or cluster.namespace
    target = target or cluster.overlay
    rules = rules or monitoring.MONITORING
    needs = Needs.of(manifests.render(target, namespace), manifests.render(rules, namespace))
    facts = Facts(cluster)
    local = cluster.local
    result = Preflight(context=cluster.context, namespace=namespace)

    try:
        result.findings.extend(
            gpu_node_findings(
                facts.nodes(nodes), needs, local=local, pools=[] if nodes else facts.nodepools()
            )
        )
    except ClusterError as exc:
        nodes_checks = (report.GPU_NODE, report.NODE_LABEL, report.NODE_TAINT)
        result.findings.extend(_could_not_look(check, exc) for check in nodes_checks)

    def crd(check: str, name: str, *, required: bool) -> Judge:
        return check, lambda: crd_finding(facts.crd(name), name, required=required, local=local)

    def selection(check: str, obj: dict[str, Any] | None, plural: str, origin: str) -> Judge:
        return check, lambda: selection_finding(
            _ours(facts, obj, plural, namespace, origin),
            [LOCAL_PROMETHEUS] if local else facts.prometheuses(),
            local=local,
        )

    def quota() -> Finding:
        if facts.namespace_labels(namespace) is None:
            return quota_finding(None, needs, namespace)
        selector = objects.selector(needs.pod_labels)
        own = facts.pods(namespace, selector) if selector else []
        return quota_finding(facts.quotas(namespace), needs, namespace, own)

    judges: list[Judge] = [
        (
            report.DEVICE_PLUGIN,
            lambda: device_plugin_finding(
                facts.daemonsets(), facts.nodes(nodes), needs, local=local
            ),
        ),
        (report.DRIVER, lambda: driver_finding(facts.nodes(nodes), needs, local=local)),
        crd(report.MONITOR_CRD, names.SERVICE_MONITOR_CRD, required=True),
        crd(report.RULE_CRD, names.PROMETHEUS_RULE_CRD, required=False),
        selection(report.MONITOR_SELECTED, needs.monitor, "servicemonitors", _origin(target)),
        selection(report.RULE_SELECTED, needs.rule, "prometheusrules", _origin(rules)),
        (
            report.NETWORK_POLICY,
            lambda: network_policy_finding([] if local else facts.daemonsets(), local=local),
        ),
        (report.QUOTA, quota),
    ]
    result.findings.extend(_guarded(check, judge) for check, judge in judges)
    return result
