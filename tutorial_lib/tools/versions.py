"""Pinned versions of the tools every reader uses, cluster or not."""

#: The NetworkPolicy simulator; sig-network's policy-assistant grew out of it (docs/decisions.md).
CYCLONUS = "v0.5.6"
#: promtool, and the local cluster's Prometheus (built from the Go module proxy as v0.316.0).
PROMETHEUS = "v3.16.0"
#: The Prometheus module's go.sum hash, as Go recorded it when it built the binary (its
#: ``.ziphash``): the web UI's sources come from the same zip (local/prometheus_ui.py).
PROMETHEUS_MODULE_H1 = "h1:f1GRFerhTMKQma+awCoC9T820ecWeGSdF+xAlMHzZzM="
#: The manifest linter of issue 14 beside checkov (built from the Go module proxy).
KUBE_SCORE = "v1.20.0"
#: The other manifest linter, from PyPI into a venv of its own (checkov-requirements.txt).
CHECKOV = "3.3.30"
#: Karpenter's AWS provider: its CRDs (NodePool, EC2NodeClass) validate manifests/karpenter.
#: The module, read from the Go module proxy (tools/gomodules.py), and its go.sum hash as Go
#: recorded it (``GOTOOLCHAIN=go1.27.3 go mod download -json <module>@<version>``: "Sum").
KARPENTER_AWS = ("github.com/aws/karpenter-provider-aws", "v1.15.2")
KARPENTER_AWS_H1 = "h1:RGw64PB2ROUHZIUhBqjO78l3zJ9YctnWeullrr4cxYI="


def prometheus_module() -> str:
    """Prometheus publishes its Go module as v0.<major><minor>.<patch> (3.16.0 → v0.316.0)."""
    major, minor, patch = PROMETHEUS.lstrip("v").split(".")
    return f"v0.{major}{int(minor):02d}.{patch}"
