"""The flows the NetworkPolicy lesson is about: who talks to whom, and what should pass.

Plain data: the policy engine that decides each flow is ``tutorial_lib.tools.netpol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tutorial_lib import names


@dataclass(frozen=True)
class Peer:
    """One end of a flow: a pod (namespace and labels) or an address outside the cluster."""

    name: str
    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    """A connection attempt: who connects to whom, on which port and protocol."""

    source: Peer
    destination: Peer
    port: int
    protocol: str = "TCP"

    def __str__(self) -> str:
        return f"{self.source.name} → {self.destination.name} {self.protocol}/{self.port}"


VLLM = Peer("vLLM pod", "10.0.1.5", names.NAMESPACE, {"app": names.DEPLOYMENT})
KUBE_DNS = Peer("CoreDNS", "10.0.2.10", "kube-system", {"k8s-app": "kube-dns"})
PROMETHEUS = Peer(
    "Prometheus (ai-platform)", "10.0.3.7", names.PROMETHEUS_NAMESPACE, {"app": "prometheus"}
)
OTHER_POD = Peer("a pod in namespace default", "10.0.4.2", "default", {"app": "web"})
HUGGING_FACE = Peer("huggingface.co", "18.239.50.10")
METADATA = Peer("cloud metadata 169.254.169.254", "169.254.169.254")
VPC_DATABASE = Peer("a database in the VPC", "10.20.30.40")

_METADATA_FIX = (
    "Except 169.254.169.254/32 from the ipBlock: the metadata address hands out the node's "
    "cloud credentials."
)
#: The flows the tutorial cares about: the verdict a correct policy gives, and what to change
#: in a policy that gets it wrong (the rule that decides the flow).
_FLOWS: tuple[tuple[Flow, bool, str], ...] = (
    (
        Flow(VLLM, HUGGING_FACE, 443),
        True,
        "An address outside the cluster matches only an ipBlock: egress to "
        "cidr 0.0.0.0/0 on TCP 443 (a namespaceSelector selects pods, never the internet).",
    ),
    (
        Flow(VLLM, METADATA, 80),
        False,
        _METADATA_FIX,
    ),
    (
        Flow(VLLM, METADATA, 443),
        False,
        _METADATA_FIX,
    ),
    (
        Flow(VLLM, VPC_DATABASE, 443),
        False,
        "Except the private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) from the "
        "ipBlock: the VPC is not the internet.",
    ),
    (
        Flow(VLLM, KUBE_DNS, 53, "UDP"),
        True,
        "Egress to CoreDNS (namespace kube-system, k8s-app: kube-dns) on UDP 53.",
    ),
    (
        Flow(VLLM, KUBE_DNS, 53, "TCP"),
        True,
        "DNS falls back to TCP for large answers: port 53 with protocol TCP as well.",
    ),
    (
        Flow(VLLM, HUGGING_FACE, 80),
        False,
        "Only TCP 443 to the internet: the model download is HTTPS.",
    ),
    (
        Flow(VLLM, OTHER_POD, 443),
        False,
        "namespaceSelector: {}, or an ipBlock that keeps the private ranges, opens the port "
        "to every pod in the cluster: the internet rule needs an ipBlock that excepts them.",
    ),
    (
        Flow(PROMETHEUS, VLLM, 8000),
        True,
        "An ingress rule from the namespace ai-platform (Prometheus) on TCP 8000.",
    ),
    (
        Flow(OTHER_POD, VLLM, 8000),
        False,
        "With Ingress in policyTypes and rules only for Prometheus and the own namespace, "
        "no other pod reaches the model.",
    ),
)
#: The flows with the verdict a correct policy gives.
TUTORIAL_FLOWS: tuple[tuple[Flow, bool], ...] = tuple((f, expected) for f, expected, _ in _FLOWS)
#: What to change when a policy gives a flow (by its name) the wrong verdict.
FIXES: Mapping[str, str] = {str(f): fix for f, _, fix in _FLOWS}
