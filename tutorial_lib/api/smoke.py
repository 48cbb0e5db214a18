"""The blog's smoke test as one call: five checks, a report that renders as a table.

1. the vLLM pod is Running and Ready        ``kubectl get pods -n ml-models``
2. the Service has a ready endpoint          ``kubectl get endpointslices -n ml-models``
3. ``/health`` answers through the Service   ``curl localhost:8000/health``
4. a completion comes back                   ``curl localhost:8000/v1/completions ...``
5. Prometheus scrapes vLLM (target up)       Prometheus: /api/v1/targets (UI: Status → Targets)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pandas as pd

from tutorial_lib import names
from tutorial_lib.api.prometheus import reach_prometheus
from tutorial_lib.errors import CheckFailed, PrometheusError, TutorialError
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.objects import endpoints, newest_pod, patch, ready
from tutorial_lib.kube.portforward import port_forward
from tutorial_lib.serving import completions, promql

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


def _pod_ready(cluster: Connection, deployment: str, namespace: str) -> str:
    pod = newest_pod(cluster, deployment, namespace)
    phase = pod.status.phase if pod.status else "Unknown"
    _require(phase == "Running" and ready(pod), f"{pod.metadata.name} is {phase}, not Ready")
    return f"{pod.metadata.name} Running and Ready on {pod.spec.node_name}"


def _endpoints(cluster: Connection, service: str, namespace: str) -> str:
    addresses = endpoints(cluster, service, namespace)
    _require(bool(addresses), f"{service} has no ready endpoint: no pod matches or none is Ready")
    return f"{service} → {', '.join(addresses)}"


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


def _prometheus_target(cluster: Connection, url: str | None, namespace: str) -> Check:
    """Skipped when no Prometheus is known at all; failed when a known one is down."""
    try:
        with reach_prometheus(cluster, url) as prom:
            return _target_up(prom, namespace)  # catches its own errors: what escapes is reach's
    except PrometheusError as exc:
        detail = str(exc).splitlines()[0]
        if url or cluster.prometheus_url:  # this cluster has a Prometheus: it must answer
            return Check(TARGET_CHECK, "failed", detail)
        return Check(TARGET_CHECK, "skipped", f"no Prometheus reachable ({detail})")


def _target_up(prom: str, namespace: str) -> Check:
    try:  # the first scrape of a new target comes within one interval
        up = promql.wait_for_target(prom, namespace, timeout=TARGET_TIMEOUT)
    except (PrometheusError, httpx.HTTPError) as exc:
        state = _target_state(prom, namespace)
        return Check(TARGET_CHECK, "failed", f"{str(exc).splitlines()[0]} {state}")
    up = up[up["health"] == "up"]
    return Check(TARGET_CHECK, "passed", f"{len(up)} target(s) up: {up['scrape_url'].iloc[0]}")


def _target_state(url: str, namespace: str) -> str:
    try:
        table = promql.targets(url)
    except (PrometheusError, httpx.HTTPError):
        return ""
    ours = table[table["namespace"] == namespace]
    if ours.empty:
        return f"(no target in {namespace}: is the ServiceMonitor applied?)"
    return f"(health {ours['health'].iloc[0]}: {ours['last_error'].iloc[0] or 'no error yet'})"


def smoke_test(
    cluster: Connection,
    *,
    deployment: str = names.DEPLOYMENT,
    service: str = names.SERVICE,
    namespace: str | None = None,
    local_port: int = 0,
    prometheus_url: str | None = None,
) -> SmokeReport:
    """Run the blog's five checks; the report's ``passed`` is what CI and readers assert.

    It never raises for a check that fails: the report says which and why, and leaves its
    verdict on the Deployment as the annotation ``vllm-tutorial/last-smoke-test`` (the
    instructor's ``status`` reads it; ``kubectl annotate`` would do the same). ``local_port``
    is the tunnel's port on this machine (the blog's ``8000:8000``); by default kubectl
    picks a free one.
    """
    namespace = namespace or cluster.namespace
    report = SmokeReport()
    _check(report, "vLLM pod Running and Ready", lambda: _pod_ready(cluster, deployment, namespace))
    _check(report, "Service has endpoints", lambda: _endpoints(cluster, service, namespace))
    try:
        tunnel = port_forward(
            cluster, f"svc/{service}", names.HTTP_PORT, namespace=namespace, local_port=local_port
        )
        with tunnel:
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
    report.checks.append(_prometheus_target(cluster, prometheus_url, namespace))
    _record(cluster, deployment, namespace, report)
    return report


def _record(cluster: Connection, deployment: str, namespace: str, report: SmokeReport) -> None:
    """Leave the verdict on the Deployment, where an instructor's ``status`` reads it.

    An annotation of the Deployment itself, not of its pod template: no rollout. Best
    effort: a user who may not patch the Deployment still gets the report.
    """
    failed = [c.name for c in report.checks if c.status == "failed"]
    verdict = f"failed: {', '.join(failed)}" if failed else "passed"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    change = {"metadata": {"annotations": {names.SMOKE_TEST_ANNOTATION: f"{verdict} at {stamp}"}}}
    with contextlib.suppress(TutorialError):
        patch(cluster, f"deploy/{deployment}", change, namespace)
