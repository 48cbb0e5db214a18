"""The blog's smoke test as one call: five checks, a report that renders as a table.

1. the vLLM pod is Running and Ready        ``kubectl get pods -n ml-models``
2. the Service has a ready endpoint          ``kubectl get endpointslices -n ml-models``
3. ``/health`` answers through the Service   ``curl localhost:8000/health``
4. a completion comes back                   ``curl localhost:8000/v1/completions ...``
5. Prometheus scrapes vLLM (target up)       Prometheus: /api/v1/targets (UI: Status → Targets)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pandas as pd

from tutorial_lib import completions, prometheus
from tutorial_lib.errors import TutorialError
from tutorial_lib.kube import Cluster, endpoints, ready
from tutorial_lib.podlogs import newest_pod
from tutorial_lib.portforward import port_forward

SERVICE = "vllm-service"
NAMESPACE = "ml-models"
#: The blog's request, in English for the stand-in model.
PROMPT = "Kubernetes is"
#: The ServiceMonitor's 30 s interval, plus discovery.
TARGET_TIMEOUT = 45.0
TARGET_CHECK = "Prometheus scrapes vLLM"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: str  # passed | failed | skipped
    detail: str


@dataclass
class SmokeReport:
    """The checks in order; ``passed`` when none failed (a skipped check is not a failure)."""

    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status != "failed" for c in self.checks)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(c) for c in self.checks], columns=["name", "status", "detail"])

    def _repr_html_(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"<p><b>Smoke test {verdict}</b></p>" + self.to_frame().to_html(index=False)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"Smoke test {verdict}\n{self.to_frame().to_string(index=False)}"


class CheckFailed(TutorialError):
    """One of the smoke test's checks did not hold."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _check(report: SmokeReport, name: str, run: Callable[[], str]) -> bool:
    try:
        report.checks.append(Check(name, "passed", run()))
        return True
    except (TutorialError, httpx.HTTPError) as exc:
        report.checks.append(Check(name, "failed", str(exc).splitlines()[0]))
        return False


def _pod_ready(cluster: Cluster) -> str:
    pod = newest_pod(cluster, namespace=NAMESPACE)
    _require(
        pod.status.phase == "Running" and ready(pod),
        f"{pod.metadata.name} is {pod.status.phase}, not Ready",
    )
    return f"{pod.metadata.name} Running and Ready on {pod.spec.nodeName}"


def _endpoints(cluster: Cluster) -> str:
    addresses = endpoints(cluster, SERVICE, NAMESPACE)
    _require(bool(addresses), f"{SERVICE} has no ready endpoint: no pod matches or none is Ready")
    return f"{SERVICE} → {', '.join(addresses)}"


def _health(url: str) -> str:
    response = httpx.get(url + "/health", timeout=10)
    _require(response.status_code == 200, f"/health returned {response.status_code}")
    return "/health 200 OK"


def _completion(url: str) -> str:
    answer = completions.complete(url, PROMPT, max_tokens=20, temperature=0)
    _require(answer.completion_tokens > 0, "the completion has no tokens")
    return (
        f"{answer.completion_tokens} tokens in {answer.total_seconds:.1f} s: {answer.text[:60]!r}"
    )


def _prometheus_target(cluster: Cluster, url: str | None) -> Check:
    """Skipped only when no Prometheus is reachable; any later problem fails the check."""
    try:
        with prometheus.reach(cluster, url) as prom:
            return _target_up(prom)  # catches its own errors: what escapes is reach's
    except prometheus.PrometheusError as exc:
        detail = f"no Prometheus reachable ({str(exc).splitlines()[0]})"
        return Check(TARGET_CHECK, "skipped", detail)


def _target_up(prom: str) -> Check:
    try:  # the first scrape of a new target comes within one interval
        up = prometheus.wait_for_target(prom, NAMESPACE, timeout=TARGET_TIMEOUT)
    except (prometheus.PrometheusError, httpx.HTTPError) as exc:
        return Check(TARGET_CHECK, "failed", f"{str(exc).splitlines()[0]} {_target_state(prom)}")
    up = up[up["health"] == "up"]
    return Check(TARGET_CHECK, "passed", f"{len(up)} target(s) up: {up['scrape_url'].iloc[0]}")


def _target_state(url: str) -> str:
    try:
        table = prometheus.targets(url)
    except (prometheus.PrometheusError, httpx.HTTPError):
        return ""
    ours = table[table["namespace"] == NAMESPACE]
    if ours.empty:
        return "(no target in ml-models: is the ServiceMonitor applied?)"
    return f"(health {ours['health'].iloc[0]}: {ours['last_error'].iloc[0] or 'no error yet'})"


def smoke_test(cluster: Cluster, *, prometheus_url: str | None = None) -> SmokeReport:
    """Run the blog's five checks; the report's ``passed`` is what CI and readers assert."""
    report = SmokeReport()
    _check(report, "vLLM pod Running and Ready", lambda: _pod_ready(cluster))
    _check(report, "Service has endpoints", lambda: _endpoints(cluster))
    try:
        with port_forward(cluster, f"svc/{SERVICE}", 8000, namespace=NAMESPACE) as tunnel:
            if _check(report, "/health through the Service", lambda: _health(tunnel.url)):
                _check(report, "a completion", lambda: _completion(tunnel.url))
            else:
                report.checks.append(Check("a completion", "failed", "/health failed first"))
    except TutorialError as exc:
        detail = f"port-forward failed: {str(exc).splitlines()[0]}"
        report.checks += [
            Check("/health through the Service", "failed", detail),
            Check("a completion", "failed", detail),
        ]
    report.checks.append(_prometheus_target(cluster, prometheus_url))
    return report
