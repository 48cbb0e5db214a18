"""The linters' reports read and compared with the accepted list, without running them."""

from __future__ import annotations

import json

import pytest
from packaging.requirements import Requirement

from tutorial_lib.errors import ManifestError, ToolError
from tutorial_lib.tools import binaries, lint, versions

KUBE_SCORE_REPORT = [
    {
        "object_name": "Deployment/apps/v1/ml-models/vllm",
        "type_meta": {"kind": "Deployment", "apiVersion": "apps/v1"},
        "object_meta": {"name": "vllm", "namespace": "ml-models"},
        "checks": [
            {"check": {"id": "container-resources"}, "grade": 10, "skipped": False},
            {"check": {"id": "deployment-has-poddisruptionbudget"}, "grade": 1, "skipped": True},
            {
                "check": {"id": "container-security-context-user-group-id"},
                "grade": 1,
                "skipped": False,
                "comments": [
                    {
                        "path": "vllm",
                        "summary": "The container is running with a low user ID",
                        "description": "A userid above 10 000 is recommended",
                    },
                    {"path": "vllm", "summary": "The container running with a low group ID"},
                ],
            },
            {
                "check": {"id": "deployment-replicas"},
                "grade": 5,
                "skipped": False,
                "comments": [{"path": "", "summary": "Deployment few replicas"}],
            },
        ],
    }
]


def checkov_report(failed: list[dict], version: str = versions.CHECKOV, count: int = 3) -> str:
    summary = {"passed": 10, "failed": len(failed), "parsing_errors": 0, "resource_count": count}
    return json.dumps(
        {
            "check_type": "kubernetes",
            "results": {"failed_checks": failed},
            "summary": summary | {"checkov_version": version},
        }
    )


def test_kube_score_warnings_and_criticals_are_findings_skipped_and_passed_are_not():
    found = lint.parse_kube_score(json.dumps(KUBE_SCORE_REPORT))
    assert [f.key for f in found] == [
        ("kube-score", "container-security-context-user-group-id", "Deployment/vllm"),
        ("kube-score", "deployment-replicas", "Deployment/vllm"),
    ]
    assert found[0].message == (
        "vllm The container is running with a low user ID (A userid above 10 000 is "
        "recommended); vllm The container running with a low group ID"
    )
    assert found[1].message == "Deployment few replicas"


def test_checkov_failed_checks_are_findings_on_kind_and_name():
    failed = [
        {
            "check_id": "CKV_K8S_43",
            "check_name": "Image should use digest",
            "resource": "Deployment.ml-models.vllm",
        },
        {"check_id": "CKV_K8S_1", "check_name": "x", "resource": "Pod.ml-models.vllm.app-vllm"},
    ]
    found = lint.parse_checkov(checkov_report(failed))
    assert [f.key for f in found] == [
        ("checkov", "CKV_K8S_43", "Deployment/vllm"),
        ("checkov", "CKV_K8S_1", "Pod/vllm.app-vllm"),
    ]
    assert str(found[0]) == "checkov CKV_K8S_43 on Deployment/vllm: Image should use digest"


def test_a_clean_checkov_report_has_no_findings_and_an_empty_one_is_refused():
    assert lint.parse_checkov(checkov_report([])) == []
    # What checkov prints for a file it cannot parse: a bare summary, zero resources, exit 0.
    empty = json.loads(checkov_report([], count=0))["summary"]
    with pytest.raises(ToolError, match="read no Kubernetes object"):
        lint.parse_checkov(json.dumps(empty))


def test_another_checkov_version_is_refused_with_the_pin():
    with pytest.raises(ToolError, match="other versions have other checks") as caught:
        lint.parse_checkov(checkov_report([], version="2.0.0"))
    assert "the next lint installs checkov" in caught.value.hint


def test_checkovs_requirements_pin_every_package_and_the_version_the_library_expects():
    lines = binaries.CHECKOV_REQUIREMENTS.read_text().splitlines()
    pins = [Requirement(line) for line in lines if line and not line.startswith("#")]
    assert all(len(pin.specifier) == 1 and str(pin.specifier).startswith("==") for pin in pins)
    assert f"checkov=={versions.CHECKOV}" in {f"{pin.name}{pin.specifier}" for pin in pins}
    assert "python-dateutil" in {pin.name for pin in pins}, "the clash it has a venv for"


def test_accepted_list_has_one_entry_per_finding_each_with_a_reason():
    entries = lint.accepted()
    assert entries, "manifests/accepted-findings.yaml is empty"
    assert len({e.key for e in entries}) == len(entries)
    assert all(e.tool in lint.LINTERS and len(e.reason) > 40 for e in entries)


def test_unaccepted_and_unmatched_compare_by_tool_check_and_object():
    keep = lint.Accepted("checkov", "CKV_K8S_43", "Deployment/vllm", "no registry here")
    stale = lint.Accepted("kube-score", "deployment-replicas", "Deployment/vllm", "one GPU")
    found = [
        lint.Finding("checkov", "CKV_K8S_43", "Deployment/vllm", "Image should use digest"),
        lint.Finding("checkov", "CKV_K8S_43", "Deployment/other", "Image should use digest"),
    ]
    assert lint.unaccepted(found, [keep, stale]) == found[1:]
    assert lint.unmatched(found, [keep, stale]) == [stale]
    table = lint.table(found, [keep])
    assert list(table["accepted because"]) == ["no registry here", ""]


@pytest.mark.parametrize(
    "entry",
    [
        "- {tool: checkov, check: CKV_K8S_43, object: Deployment/vllm}",
        "- {tool: kube-linter, check: x, object: Deployment/vllm, reason: because}",
        "- {tool: checkov, check: CKV_K8S_43, object: Deployment/vllm, reason: ' '}",
    ],
)
def test_an_entry_without_reason_or_with_an_unknown_tool_is_refused(tmp_path, entry):
    path = tmp_path / "accepted.yaml"
    path.write_text(entry + "\n")
    with pytest.raises(ManifestError, match="Entry 1"):
        lint.accepted(path)
