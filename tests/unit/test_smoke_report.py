"""The smoke test's verdict: skipped is not failed, nothing run is not passed."""

from __future__ import annotations

import pytest

import tutorial_lib as tl
from tests.helpers import write_kubeconfig
from tutorial_lib.api.smoke import Check, SmokeReport
from tutorial_lib.kube.connection import from_kubeconfig

FIVE_CHECKS = [
    "vLLM pod Running and Ready",
    "Service has endpoints",
    "/health through the Service",
    "a completion",
    "Prometheus scrapes vLLM",
]


def test_a_skipped_check_does_not_fail_the_report():
    report = SmokeReport([Check("a", "passed", ""), Check("b", "skipped", "no Prometheus")])
    assert report.passed
    assert "Smoke test passed" in report._repr_html_()


def test_one_failed_check_fails_the_report_and_is_shown():
    report = SmokeReport([Check("a", "passed", ""), Check("b", "failed", "/health returned 503")])
    assert not report.passed
    assert "FAILED" in str(report) and "/health returned 503" in str(report)


def test_an_empty_report_has_not_passed():
    assert not SmokeReport().passed


@pytest.mark.timeout(120)
def test_an_unreachable_cluster_fails_every_check_with_its_reason(unreachable):
    report = tl.smoke_test(unreachable)  # never raises
    assert not report.passed
    assert [c.name for c in report.checks] == FIVE_CHECKS
    by_name = {c.name: c for c in report.checks}
    for name in FIVE_CHECKS[:4]:
        assert by_name[name].status == "failed", by_name[name]
    assert "No answer from the API server" in by_name["vLLM pod Running and Ready"].detail
    assert "No answer from the API server" in by_name["Service has endpoints"].detail
    assert "port-forward failed" in by_name["/health through the Service"].detail
    # No Prometheus is known for this cluster, and none can be found: not a failure.
    prometheus = by_name["Prometheus scrapes vLLM"]
    assert prometheus.status == "skipped"
    assert "no Prometheus reachable" in prometheus.detail
    assert "FAILED" in str(report)


@pytest.mark.timeout(120)
def test_a_known_prometheus_that_does_not_answer_fails_its_check(tmp_path):
    cluster = from_kubeconfig(
        write_kubeconfig(tmp_path / "kubeconfig.yaml"), prometheus_url="http://127.0.0.1:1"
    )
    check = tl.smoke_test(cluster).checks[-1]
    assert (check.name, check.status) == ("Prometheus scrapes vLLM", "failed")
    assert "http://127.0.0.1:1" in check.detail
