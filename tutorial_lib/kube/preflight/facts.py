"""The cluster's answers preflight asks for, each asked once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, NotFound
from tutorial_lib.kube import nodegroup
from tutorial_lib.kube.connection import Connection


class Facts:
    """The cluster's answers, each asked once; an error is kept and raised to every check."""

    def __init__(self, cluster: Connection) -> None:
        self.cluster = cluster
        self._answers: dict[str, Any] = {}

    def _ask(self, key: str, ask: Callable[[], Any]) -> Any:
        if key not in self._answers:
            try:
                self._answers[key] = ask()
            except ClusterError as exc:
                self._answers[key] = exc
        answer = self._answers[key]
        if isinstance(answer, ClusterError):
            raise answer
        return answer

    def nodes(self, selector: str | None) -> list[client.V1Node]:
        core = self.cluster.core
        return self._ask(
            f"nodes {selector or ''}",
            lambda: self.cluster.call(core.list_node, label_selector=selector or "").items,
        )

    def daemonsets(self) -> list[client.V1DaemonSet]:
        apps = self.cluster.apps
        return self._ask(
            "daemonsets",
            lambda: self.cluster.call(apps.list_daemon_set_for_all_namespaces).items,
        )

    def crd(self, name: str) -> client.V1CustomResourceDefinition | None:
        def read() -> client.V1CustomResourceDefinition | None:
            try:
                return self.cluster.call(
                    self.cluster.apiextensions.read_custom_resource_definition, name
                )
            except NotFound:
                return None

        return self._ask(f"crd {name}", read)

    def prometheuses(self) -> list[dict[str, Any]] | None:
        def read() -> list[dict[str, Any]] | None:
            try:
                listed = self.cluster.call(
                    self.cluster.custom.list_cluster_custom_object,
                    names.MONITORING_GROUP,
                    names.MONITORING_VERSION,
                    "prometheuses",
                )
            except NotFound:  # the CRD is not installed
                return None
            return listed.get("items") or []

        return self._ask("prometheuses", read)

    def nodepools(self) -> list[dict[str, Any]]:
        """Karpenter's NodePools; none where Karpenter is not installed."""
        return self._ask("nodepools", lambda: nodegroup.nodepools(self.cluster))

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        def read() -> dict[str, str] | None:
            try:
                found = self.cluster.call(self.cluster.core.read_namespace, namespace)
            except NotFound:
                return None
            return found.metadata.labels or {}

        return self._ask(f"namespace {namespace}", read)

    def custom_labels(self, plural: str, namespace: str, name: str) -> dict[str, str] | None:
        def read() -> dict[str, str] | None:
            try:
                found = self.cluster.call(
                    self.cluster.custom.get_namespaced_custom_object,
                    names.MONITORING_GROUP,
                    names.MONITORING_VERSION,
                    namespace,
                    plural,
                    name,
                )
            except NotFound:  # not applied yet, or no CRD
                return None
            return found.get("metadata", {}).get("labels") or {}

        return self._ask(f"{plural} {namespace}/{name}", read)

    def quotas(self, namespace: str) -> list[client.V1ResourceQuota]:
        core = self.cluster.core
        return self._ask(
            f"quotas {namespace}",
            lambda: self.cluster.call(core.list_namespaced_resource_quota, namespace).items,
        )

    def pods(self, namespace: str, selector: str) -> list[client.V1Pod]:
        core = self.cluster.core
        return self._ask(
            f"pods {namespace} {selector}",
            lambda: (
                self.cluster.call(
                    core.list_namespaced_pod, namespace, label_selector=selector
                ).items
            ),
        )
