"""The smoke test's verdict: skipped is not failed, nothing run is not passed."""

from __future__ import annotations

from tutorial_lib.smoke import Check, SmokeReport


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
