"""What the tutorial's manifests ask for (``Needs``) and which object's selection is checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tutorial_lib import names
from tutorial_lib.kube.resources import HARD_EFFECTS, summed, taint_text

#: Images whose tag names no CUDA version: vLLM's plain release tags are built with the
#: Dockerfile's default CUDA, 13.0 in 2026 (``docker/versions.json``: ``CUDA_VERSION``
#: 13.0.2, later 13.0.3); its ``-cu129`` variants are the CUDA 12.9 builds.
PLAIN_TAG_CUDA = {"vllm/vllm-openai:v0.26.0": (13, 0)}


@dataclass(frozen=True)
class Needs:
    """What the tutorial's manifests ask of the cluster, read from the rendered objects."""

    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    requests: dict[str, Decimal]
    limits: dict[str, Decimal]
    image: str
    pod_labels: dict[str, str]
    monitor: dict[str, Any] | None
    rule: dict[str, Any] | None

    @classmethod
    def of(cls, objects: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> Needs:
        def first(kind: str, among: list[dict[str, Any]]) -> dict[str, Any] | None:
            return next((o for o in among if o.get("kind") == kind), None)

        deployment = first("Deployment", objects) or {}
        template = deployment.get("spec", {}).get("template", {})
        pod = template.get("spec", {})
        containers = pod.get("containers") or [{}]
        return cls(
            node_selector=dict(pod.get("nodeSelector") or {}),
            tolerations=list(pod.get("tolerations") or []),
            requests=summed(pod.get("containers"), "requests"),
            limits=summed(pod.get("containers"), "limits"),
            image=containers[0].get("image", ""),
            pod_labels=dict(template.get("metadata", {}).get("labels") or {}),
            monitor=first("ServiceMonitor", objects),
            rule=first("PrometheusRule", rules or []),
        )

    @property
    def gpus(self) -> Decimal:
        return self.requests.get(names.GPU_RESOURCE) or self.limits.get(names.GPU_RESOURCE, 0)

    @property
    def cuda(self) -> tuple[int, int] | None:
        """The CUDA version the image is built for: from its tag (``-cu130``: 13.0), or known."""
        image = self.image.partition("@")[0]  # a pinned digest after the tag
        match = re.search(r"cu(\d{2,3})\b", image.rpartition(":")[2])
        if not match:
            return PLAIN_TAG_CUDA.get(image)
        digits = match.group(1)
        return int(digits[:-1]), int(digits[-1])

    def expected_taints(self) -> list[str]:
        """The taints the Deployment tolerates by key and value: the GPU node's own."""
        return [
            taint_text(t)
            for t in self.tolerations
            if t.get("key") and t.get("effect") in HARD_EFFECTS
        ]


@dataclass(frozen=True)
class Ours:
    """The object whose selection is checked: its labels as rendered, and as applied."""

    kind: str
    labels: dict[str, str]
    source: str
    namespace: str
    namespace_labels: dict[str, str]
    #: The labels of the same object in the cluster; None when it is not applied.
    applied: dict[str, str] | None = None
