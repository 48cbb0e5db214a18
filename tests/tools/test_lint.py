"""The manifests as platform teams' linters see them: kube-score (Go-built) and checkov (PyPI).

Every finding on an overlay is fixed or listed with its reason in
manifests/accepted-findings.yaml, every listed finding still occurs, and the linters do
report what the manifests fixed once it is undone.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
import yaml

from tutorial_lib.errors import ManifestError
from tutorial_lib.tools import lint, manifests


@cache
def findings(overlay: str) -> tuple[lint.Finding, ...]:
    return tuple(lint.findings(manifests.overlay(overlay)))


def keys(found) -> set[tuple[str, str, str]]:
    return {finding.key for finding in found}


def rendered_deployment(tmp_path: Path, change) -> Path:
    """The eks-l4 overlay as rendered, with ``change`` applied to the Deployment."""
    objects = manifests.render(manifests.overlay("eks-l4"))
    deployment = next(obj for obj in objects if obj["kind"] == "Deployment")
    change(deployment["spec"]["template"]["spec"])
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_overlay_has_no_finding_that_is_not_accepted(overlay):
    left = lint.unaccepted(findings(overlay))
    assert not left, "\n".join(str(finding) for finding in left)


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_accepted_finding_still_occurs(overlay):
    stale = lint.unmatched(findings(overlay), lint.accepted())
    assert not stale, f"accepted but no longer reported on {overlay}, remove them: {stale}"


def test_both_linters_ran_and_report_in_their_own_words():
    found = findings("eks-l4")
    assert {finding.tool for finding in found} == set(lint.LINTERS)
    assert all(finding.message for finding in found)
    table = lint.table(found, lint.accepted())
    assert table["accepted because"].str.len().gt(0).all(), table


def test_a_privileged_container_is_reported_and_refused(tmp_path):
    def privileged(pod: dict) -> None:
        security = pod["containers"][0]["securityContext"]
        security |= {"privileged": True, "allowPrivilegeEscalation": True}

    path = rendered_deployment(tmp_path, privileged)
    new = keys(lint.unaccepted(lint.findings(path)))
    assert ("checkov", "CKV_K8S_16", "Deployment/vllm") in new  # privileged
    assert ("checkov", "CKV_K8S_20", "Deployment/vllm") in new  # privilege escalation
    assert ("kube-score", "container-security-context-privileged", "Deployment/vllm") in new
    with pytest.raises(ManifestError, match="CKV_K8S_16") as caught:
        lint.check(path)
    assert "Container should not be privileged" in caught.value.message
    assert "accepted-findings.yaml" in caught.value.hint


def test_undoing_the_hardening_brings_back_what_it_fixed(tmp_path):
    """The blog's settings for token, UID, disk and memory limit, each reported again."""

    def as_before(pod: dict) -> None:
        del pod["automountServiceAccountToken"], pod["serviceAccountName"]
        pod["securityContext"] |= {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
        resources = pod["containers"][0]["resources"]
        del resources["requests"]["ephemeral-storage"], resources["limits"]["ephemeral-storage"]
        resources["limits"]["memory"] = "14Gi"

    new = keys(lint.unaccepted(lint.findings(rendered_deployment(tmp_path, as_before))))
    assert new == {
        ("checkov", "CKV_K8S_38", "Deployment/vllm"),  # service-account token mounted
        ("checkov", "CKV_K8S_40", "Deployment/vllm"),  # UID below 10000
        ("kube-score", "container-security-context-user-group-id", "Deployment/vllm"),
        ("kube-score", "container-ephemeral-storage-request-and-limit", "Deployment/vllm"),
        ("kube-score", "container-memory-requests-equal-limits", "Deployment/vllm"),
    }


def test_pinning_the_digest_as_the_reason_says_silences_the_finding(tmp_path):
    overlay = tmp_path / "pinned"
    overlay.mkdir()
    digest = "sha256:" + "0" * 64  # any well-formed digest: the linters cannot pull either
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(manifests.overlay("eks-l4"), overlay)],
                "images": [{"name": "vllm/vllm-openai", "digest": digest}],
            }
        )
    )
    deployment = next(o for o in manifests.render(overlay) if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"vllm/vllm-openai@{digest}"
    )
    assert ("checkov", "CKV_K8S_43", "Deployment/vllm") not in keys(lint.findings(overlay))
