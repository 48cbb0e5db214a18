"""Label selectors as the API server and the Prometheus Operator evaluate them.

A ``LabelSelector`` (``matchLabels`` and ``matchExpressions``) in its manifest form, a dict:
what a Prometheus object's ``serviceMonitorSelector`` holds, and what the local Prometheus
stand-in applies. ``None`` selects nothing, ``{}`` everything (the Operator's rule for
``serviceMonitorSelector`` and ``ruleSelector``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tutorial_lib import names


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector``: every ``matchLabels`` pair and expression.

    Expressions: ``In``, ``NotIn``, ``Exists``, ``DoesNotExist``, as in
    ``kubectl get -l 'release in (a,b)'``. An unknown operator matches nothing.
    """
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In":
            held = key in labels and labels[key] in values
        elif operator == "NotIn":
            held = key not in labels or labels[key] not in values
        elif operator == "Exists":
            held = key in labels
        elif operator == "DoesNotExist":
            held = key not in labels
        else:
            held = False
        if not held:
            return False
    return True


def release_selector(release: str = names.PROMETHEUS_RELEASE) -> dict[str, Any]:
    """The selector kube-prometheus-stack gives its Prometheus for a Helm release.

    With the chart's defaults (``serviceMonitorSelectorNilUsesHelmValues: true``, likewise
    for rules) ``serviceMonitorSelector`` and ``ruleSelector`` are both this.
    """
    return {"matchLabels": {names.PROMETHEUS_RELEASE_LABEL: release}}


def describe(selector: Mapping[str, Any] | None) -> str:
    """A selector as ``kubectl get -l`` writes it; ``(none: selects nothing)`` for None."""
    if selector is None:
        return "(none: selects nothing)"
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})"}.get(
                operator, key if operator == "Exists" else f"!{key}"
            )
        )
    return ",".join(parts) or "(empty: selects everything)"
