"""NetworkPolicy verdicts on concrete flows, from a real policy engine instead of reading YAML.

The engine is cyclonus (built from the Go module proxy into the tutorial's cache), the
simulator that sig-network's policy-assistant grew out of: it evaluates Kubernetes'
NetworkPolicy semantics (selectors, ipBlocks with exceptions, ports, protocols, the
ingress *and* egress side of each flow) without a cluster or a CNI.

The EKS cluster of the blog does not enforce NetworkPolicies at all (the VPC CNI needs its
network-policy agent switched on), so these verdicts are what the policy *would* do.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from tutorial_lib import manifests
from tutorial_lib.errors import TutorialError
from tutorial_lib.local import binaries

#: The blog's policy as published (two egress rules, no ingress rule).
BLOG_POLICY = Path(__file__).resolve().parent / "blog" / "networkpolicy.yaml"

_VERDICT = re.compile(r"IS ALLOWED\?\s*\|\s*(TRUE|FALSE)")


@dataclass(frozen=True)
class Peer:
    """One end of a flow: a pod (namespace and labels) or an address outside the cluster."""

    name: str
    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def _engine_form(self) -> dict:
        if self.namespace is None:
            return {"IP": self.ip}
        namespace_labels = {"kubernetes.io/metadata.name": self.namespace}
        return {
            "IP": self.ip,
            "Internal": {
                "Namespace": self.namespace,
                "NamespaceLabels": namespace_labels,
                "PodLabels": dict(self.labels),
            },
        }


@dataclass(frozen=True)
class Flow:
    """A connection attempt: who connects to whom, on which port and protocol."""

    source: Peer
    destination: Peer
    port: int
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.source.name} → {self.destination.name} {self.protocol}/{self.port}"

    def _engine_form(self) -> dict:
        return {
            "Source": self.source._engine_form(),
            "Destination": self.destination._engine_form(),
            "Protocol": self.protocol,
            "ResolvedPort": self.port,
            "ResolvedPortName": "",
        }


VLLM = Peer("vLLM pod", "10.0.1.5", "ml-models", {"app": "vllm"})
KUBE_DNS = Peer("CoreDNS", "10.0.2.10", "kube-system", {"k8s-app": "kube-dns"})
PROMETHEUS = Peer("Prometheus (ai-platform)", "10.0.3.7", "ai-platform", {"app": "prometheus"})
OTHER_POD = Peer("a pod in namespace default", "10.0.4.2", "default", {"app": "web"})
HUGGING_FACE = Peer("huggingface.co", "18.239.50.10")
METADATA = Peer("cloud metadata 169.254.169.254", "169.254.169.254")
VPC_DATABASE = Peer("a database in the VPC", "10.20.30.40")

#: The flows the tutorial cares about, with the verdict a correct policy gives.
TUTORIAL_FLOWS: tuple[tuple[Flow, bool], ...] = (
    (Flow(VLLM, HUGGING_FACE, 443), True),
    (Flow(VLLM, METADATA, 80), False),
    (Flow(VLLM, METADATA, 443), False),
    (Flow(VLLM, VPC_DATABASE, 443), False),
    (Flow(VLLM, KUBE_DNS, 53, "UDP"), True),
    (Flow(VLLM, KUBE_DNS, 53, "TCP"), True),
    (Flow(VLLM, HUGGING_FACE, 80), False),
    (Flow(VLLM, OTHER_POD, 443), False),
    (Flow(PROMETHEUS, VLLM, 8000), True),
    (Flow(OTHER_POD, VLLM, 8000), False),
)


def policies(target: str | Path) -> list[dict]:
    """The NetworkPolicies in a YAML file or kustomize folder."""
    return [obj for obj in manifests.render(target) if obj.get("kind") == "NetworkPolicy"]


def verdicts(target: str | Path, flows: Iterable[Flow | tuple[Flow, bool]]) -> pd.DataFrame:
    """Is each flow allowed by the NetworkPolicies in ``target``? One row per flow.

    Pass ``(flow, expected)`` pairs to get an ``expected`` column and a ``correct`` one.
    """
    pairs = [(f, None) if isinstance(f, Flow) else f for f in flows]
    found = policies(target)
    if not found:
        raise TutorialError(f"No NetworkPolicy in {target}.", "Point at the manifests folder.")
    allowed = _simulate(found, [flow for flow, _ in pairs])
    table = pd.DataFrame(
        {
            "flow": [str(flow) for flow, _ in pairs],
            "allowed": allowed,
        }
    )
    if any(expected is not None for _, expected in pairs):
        table["expected"] = [expected for _, expected in pairs]
        table["correct"] = table["allowed"] == table["expected"]
    return table


def _simulate(found: list[dict], flows: list[Flow]) -> list[bool]:
    with tempfile.TemporaryDirectory(prefix="netpol-") as tmp:
        policy_file = Path(tmp) / "policies.yaml"
        policy_file.write_text(yaml.safe_dump_all(found))
        traffic_file = Path(tmp) / "traffic.json"
        traffic_file.write_text(json.dumps([flow._engine_form() for flow in flows]))
        engine = binaries.ensure_binaries(("cyclonus",))["cyclonus"]
        proc = subprocess.run(
            [
                str(engine),
                "analyze",
                "--mode=query-traffic",
                f"--policy-path={policy_file}",
                f"--traffic-path={traffic_file}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    answers = _VERDICT.findall(proc.stdout)
    if proc.returncode != 0 or len(answers) != len(flows):
        raise TutorialError(
            f"The policy engine failed ({engine}, exit {proc.returncode}):\n"
            f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
            "Check that the policies are valid: kubectl apply --dry-run=server -f <file>.",
        )
    return [answer == "TRUE" for answer in answers]


def compare(
    policies_by_name: Mapping[str, str | Path], flows: Iterable[tuple[Flow, bool]]
) -> pd.DataFrame:
    """One row per flow: the expected verdict and each policy set's verdict side by side."""
    pairs = list(flows)
    table = pd.DataFrame({"flow": [str(f) for f, _ in pairs], "expected": [e for _, e in pairs]})
    for name, target in policies_by_name.items():
        table[name] = verdicts(target, [f for f, _ in pairs])["allowed"]
    return table
