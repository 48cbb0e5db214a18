"""The Prometheus Operator: its CRDs, and a Prometheus that selects our ServiceMonitor and rule."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tutorial_lib import names
from tutorial_lib.kube import labels
from tutorial_lib.kube.preflight.needs import Ours
from tutorial_lib.kube.preflight.report import (
    MONITOR_CRD,
    MONITOR_SELECTED,
    OK,
    PROBLEM,
    RULE_CRD,
    RULE_SELECTED,
    WARNING,
    Finding,
    plural,
)

#: The Prometheus Operator's custom resources.
RELEASE_COMPONENT = "manifests/components/prometheus-release/kustomization.yaml"
#: The local cluster's Prometheus as a Prometheus object would describe it: it selects what
#: kube-prometheus-stack selects for the release in ``names`` (tutorial_lib/local/monitoring.py
#: applies the same ``labels.release_selector()``), in every namespace.
LOCAL_PROMETHEUS = {
    "metadata": {"namespace": "local", "name": "prometheus (tutorial_lib/local/monitoring.py)"},
    "spec": {
        "serviceMonitorSelector": labels.release_selector(),
        "serviceMonitorNamespaceSelector": {},
        "ruleSelector": labels.release_selector(),
        "ruleNamespaceSelector": {},
    },
}
_INSTALL_STACK = (
    "helm repo add prometheus-community https://prometheus-community.github.io/helm-charts && "
    "helm install kube-prometheus-stack prometheus-community/kube-prometheus-stack "
    f"-n {names.PROMETHEUS_NAMESPACE} --create-namespace"
)


def crd_finding(
    crd: client.V1CustomResourceDefinition | None, name: str, *, required: bool, local: bool
) -> Finding:
    """A CRD the manifests use: installed, and serving v1."""
    check = MONITOR_CRD if name == names.SERVICE_MONITOR_CRD else RULE_CRD
    kind = "ServiceMonitor" if check == MONITOR_CRD else "PrometheusRule"
    target = "the overlay" if check == MONITOR_CRD else "manifests/monitoring"
    if crd is None:
        return Finding(
            check,
            PROBLEM if required else WARNING,
            f"{name} is not installed: applying {target} fails with "
            f"'no matches for kind \"{kind}\"'.",
            "python -m tutorial_lib.local up installs it"
            if local
            else f"Install kube-prometheus-stack (it brings the Operator's CRDs): {_INSTALL_STACK}",
        )
    served = [v.name for v in crd.spec.versions or [] if v.served]
    if names.MONITORING_VERSION not in served:
        return Finding(
            check,
            PROBLEM if required else WARNING,
            f"{name} serves {plural(served)}, not {names.MONITORING_VERSION}.",
            "Upgrade the Prometheus Operator (kube-prometheus-stack).",
        )
    subset = " (the local cluster's subset of the Operator's CRD)" if local else ""
    return Finding(check, OK, f"{name} is installed, serving {plural(served)}{subset}.")


def _selected_by(
    prometheus: dict[str, Any], ours: Ours, object_labels: dict[str, str]
) -> tuple[bool, str]:
    """The Operator's decision for one Prometheus object, and the reason as text."""
    monitor = ours.kind == "ServiceMonitor"
    field_name = "serviceMonitorSelector" if monitor else "ruleSelector"
    ns_field = "serviceMonitorNamespaceSelector" if monitor else "ruleNamespaceSelector"
    meta, spec = prometheus.get("metadata", {}), prometheus.get("spec") or {}
    selector, ns_selector = spec.get(field_name), spec.get(ns_field)
    text = f"{meta.get('namespace')}/{meta.get('name')}: {field_name} {labels.describe(selector)}"
    if ns_selector is None:  # the Operator: only the Prometheus object's own namespace
        ns_ok = meta.get("namespace") == ours.namespace
        ns_why = f"{ns_field} unset (only its own namespace, {meta.get('namespace')})"
    else:
        ns_ok = labels.matches(ns_selector, ours.namespace_labels)
        ns_why = f"{ns_field} {labels.describe(ns_selector)}"
    labels_ok = labels.matches(selector, object_labels)
    if not labels_ok:
        text += f"; {_label_text(object_labels)} do not match"
    if not ns_ok:
        text += f"; {ns_why} leaves out {ours.namespace}"
    return labels_ok and ns_ok, text


def _label_text(object_labels: dict[str, str]) -> str:
    return labels.describe({"matchLabels": object_labels}) if object_labels else "no labels"


def _wanted_release(prometheuses: list[dict[str, Any]], kind: str) -> str | None:
    field_name = "serviceMonitorSelector" if kind == "ServiceMonitor" else "ruleSelector"
    for prometheus in prometheuses:
        selector = (prometheus.get("spec") or {}).get(field_name) or {}
        release = (selector.get("matchLabels") or {}).get(names.PROMETHEUS_RELEASE_LABEL)
        if release:
            return release
    return None


def selection_finding(
    ours: Ours, prometheuses: list[dict[str, Any]] | None, *, local: bool
) -> Finding:
    """Whether a Prometheus selects this ServiceMonitor (or PrometheusRule), as the Operator would.

    ``prometheuses``: the cluster's Prometheus objects; None when their CRD is missing. The
    rendered labels decide; an applied copy that is not selected (applied before the label
    was there) is a warning: applying again fixes it.
    """
    monitor = ours.kind == "ServiceMonitor"
    check = MONITOR_SELECTED if monitor else RULE_SELECTED
    ns_field = "serviceMonitorNamespaceSelector" if monitor else "ruleNamespaceSelector"
    own = _label_text(ours.labels)
    if prometheuses is None:
        return Finding(
            check,
            WARNING,
            "No Prometheus Operator found (no prometheuses.monitoring.coreos.com): nothing "
            f"will read the {ours.kind}.",
            _INSTALL_STACK,
        )
    if not prometheuses:
        return Finding(
            check,
            WARNING,
            f"The Prometheus CRD is installed but no Prometheus object exists: nothing reads the "
            f"{ours.kind}.",
            f"kubectl get prometheus -A; {_INSTALL_STACK}",
        )
    decisions = [_selected_by(p, ours, ours.labels) for p in prometheuses]
    selecting = [text for chosen, text in decisions if chosen]
    if selecting:
        applied = (
            [_selected_by(p, ours, ours.applied) for p in prometheuses]
            if ours.applied is not None
            else []
        )
        if applied and not any(chosen for chosen, _ in applied):
            return Finding(
                check,
                WARNING,
                f"{'; '.join(selecting)} matches {ours.source} ({own}), but not the "
                f"{ours.kind} applied in {ours.namespace} ({_label_text(ours.applied)}), "
                "applied before it had the label.",
                "Apply the manifests again: tl.apply(cluster, cluster.overlay), or kubectl "
                "apply --server-side -k with your overlay.",
            )
        return Finding(check, OK, f"{'; '.join(selecting)} matches {ours.source} ({own}).")
    wanted = _wanted_release(prometheuses, ours.kind)
    if local:
        fix = (
            f"Keep the component {RELEASE_COMPONENT} in the manifests: it adds "
            f"release={names.PROMETHEUS_RELEASE}, which the local Prometheus selects."
        )
    elif wanted and wanted != ours.labels.get(names.PROMETHEUS_RELEASE_LABEL):
        fix = f"Set the release name in {RELEASE_COMPONENT} to {wanted} and apply again."
    else:
        fix = (
            f"Label the {ours.kind} as the selector asks (in {RELEASE_COMPONENT}), or install "
            "the chart with prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues"
            "=false and ruleSelectorNilUsesHelmValues=false (then it selects all)."
        )
    if any("leaves out" in text for _, text in decisions):
        fix += (
            f" For the namespace: label {ours.namespace} as the namespace selector asks, or "
            f"set {ns_field} to {{}} (all namespaces, kube-prometheus-stack's default)."
        )
    effect = "It is never scraped" if monitor else "Its alerts never load"
    return Finding(
        check,
        PROBLEM,
        f"No Prometheus selects {ours.source} ({own}): "
        f"{'; '.join(text for _, text in decisions)}. {effect}, and nothing reports an error.",
        fix,
    )
