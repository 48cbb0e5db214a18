"""The preflight report: the checks, a finding per check, and the report as table or text."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

OK, WARNING, PROBLEM = "ok", "warning", "problem"
STATUSES = (OK, WARNING, PROBLEM)

GPU_NODE = "GPU node"
NODE_LABEL = "GPU node label"
NODE_TAINT = "GPU node taint"
DEVICE_PLUGIN = "NVIDIA device plugin"
DRIVER = "GPU driver and CUDA"
MONITOR_CRD = "ServiceMonitor CRD"
RULE_CRD = "PrometheusRule CRD"
MONITOR_SELECTED = "Prometheus selects the ServiceMonitor"
RULE_SELECTED = "Prometheus loads the PrometheusRule"
NETWORK_POLICY = "NetworkPolicy enforcement"
QUOTA = "ResourceQuota"
#: Every check, in the order of the report.
CHECKS = (
    GPU_NODE,
    NODE_LABEL,
    NODE_TAINT,
    DEVICE_PLUGIN,
    DRIVER,
    MONITOR_CRD,
    RULE_CRD,
    MONITOR_SELECTED,
    RULE_SELECTED,
    NETWORK_POLICY,
    QUOTA,
)


@dataclass(frozen=True)
class Finding:
    """One row of the report: what was looked at, the verdict, what was seen, the fix."""

    check: str
    status: str  # ok | warning | problem
    finding: str
    fix: str = ""


@dataclass
class Preflight:
    """The findings in the order of ``CHECKS``; ``ok`` when none is a problem."""

    context: str
    namespace: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != PROBLEM for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == PROBLEM]

    def __getitem__(self, check: str) -> Finding:
        for finding in self.findings:
            if finding.check == check:
                return finding
        raise KeyError(f"no check {check!r}; the checks: {', '.join(CHECKS)}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [vars(f) for f in self.findings], columns=["check", "status", "finding", "fix"]
        )

    def _summary(self) -> str:
        counts = {s: sum(f.status == s for f in self.findings) for s in STATUSES}
        verdict = "ready" if self.ok else "NOT READY"
        return (
            f"Preflight of {self.context} (namespace {self.namespace}): {verdict}, "
            f"{counts[PROBLEM]} problem(s), {counts[WARNING]} warning(s), {counts[OK]} ok"
        )

    def _repr_html_(self) -> str:
        colours = {OK: "#d4edda", WARNING: "#fff3cd", PROBLEM: "#f8d7da"}
        table = (
            self.to_frame()
            .style.format(escape="html")
            .hide(axis="index")
            .map(lambda status: f"background: {colours.get(status, '')}", subset=["status"])
            .set_properties(**{"text-align": "left"})
        )
        return f"<p><b>{html.escape(self._summary())}</b></p>" + table.to_html()

    def __str__(self) -> str:
        lines = [self._summary()]
        for f in self.findings:
            lines.append(f"[{f.status}] {f.check}: {f.finding}")
            if f.fix and f.status != OK:
                lines.append(f"    fix: {f.fix}")
        return "\n".join(lines)


def plural(items: list[str]) -> str:
    """Items for a finding's text: comma-separated, or ``none``."""
    return ", ".join(items) if items else "none"
