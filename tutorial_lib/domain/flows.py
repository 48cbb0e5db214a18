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
