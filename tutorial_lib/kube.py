"""Talk to a cluster: connect, apply manifests, wait for pods, read their logs.

The same calls work against the local cluster and a real EKS cluster; only ``connect``
differs. Each has a kubectl equivalent in its docstring.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Event, Pod
from tqdm.auto import tqdm

from tutorial_lib.errors import TutorialError
from tutorial_lib.local import binaries, paths
from tutorial_lib.local import cluster as local_cluster


class ClusterError(TutorialError):
    """The cluster refused a request, or did not reach the state we waited for."""


@dataclass
class Cluster:
    """A connection: the lightkube client and the kubectl command for the same context."""

    kubeconfig: Path
    context: str
    client: Client
    local: bool

    @property
    def kubectl(self) -> list[str]:
        return [
            str(binaries.kubectl()),
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context,
        ]

    def run_kubectl(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.kubectl, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def __repr__(self) -> str:
        where = "the local cluster (kwok, simulated GPU node)" if self.local else "your cluster"
        return f"Cluster(context={self.context!r}, {where})"


def connect(context: str | None = None, *, local: bool | None = None) -> Cluster:
    """Connect to the local cluster (starting it when needed) or a kubeconfig context.

    ``local=None`` decides from ``VLLM_TUTORIAL_CLUSTER`` (``local`` or a context name):
    the one switch that CI and readers without a cluster use.
    """
    choice = os.environ.get("VLLM_TUTORIAL_CLUSTER", "local")
    if local is None:
        local = context is None and choice == "local"
        context = context or (None if local else choice)
    if local:
        local_cluster.up()
        kubeconfig, context = paths.kubeconfig_path(), local_cluster.CONTEXT
    else:
        kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
        kubeconfig = kubeconfig.expanduser()
    try:
        config = KubeConfig.from_file(kubeconfig)
        client = Client(config.get(context_name=context), field_manager="vllm-tutorial")
        context = context or config.current_context
    except (ConfigError, OSError) as exc:
        raise ClusterError(
            f"Cannot use kubeconfig {kubeconfig} (context {context or 'current'}): {exc}",
            "Set KUBECONFIG or pass context=..., or use the local cluster: "
            "python -m tutorial_lib.local up",
        ) from exc
    return Cluster(kubeconfig=kubeconfig, context=str(context), client=client, local=local)


def apply(cluster: Cluster, target: str | Path, *, dry_run: bool = False) -> pd.DataFrame:
    """Server-side apply a file, folder or kustomize overlay; a table of the objects applied.

    kubectl equivalent: ``kubectl apply --server-side -k manifests/overlays/local``.
    """
    target = Path(target)
    source = (
        ["-k", str(target)] if (target / "kustomization.yaml").exists() else ["-f", str(target)]
    )
    args = ["apply", "--server-side", "--field-manager=vllm-tutorial", "-o", "json", *source]
    if dry_run:
        args.append("--dry-run=server")
    proc = cluster.run_kubectl(*args)
    if proc.returncode != 0:
        raise ClusterError(
            f"The API server refused {target}:\n{proc.stderr.strip()}",
            "The message names the object and the field; fix it in the YAML.",
        )
    items = json.loads(proc.stdout)
    items = items.get("items", [items])
    return pd.DataFrame(
        [
            {
                "kind": i["kind"],
                "namespace": i["metadata"].get("namespace", ""),
                "name": i["metadata"]["name"],
            }
            for i in items
        ]
    )


def pods(cluster: Cluster, namespace: str, selector: dict[str, str]) -> list[Pod]:
    return list(cluster.client.list(Pod, namespace=namespace, labels=selector))


def _ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def explain(cluster: Cluster, pod: Pod) -> str:
    """Why a pod is not Ready, in the words of its events and container status."""
    reasons = []
    for event in cluster.client.list(
        Event, namespace=pod.metadata.namespace, fields={"involvedObject.name": pod.metadata.name}
    ):
        if event.type == "Warning":
            reasons.append(f"{event.reason}: {event.message}")
    for status in pod.status.containerStatuses or []:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason not in (None, "ContainerCreating"):
            reasons.append(
                f"container {status.name}: {waiting.reason} (restarts: {status.restartCount})"
            )
    return "\n".join(dict.fromkeys(reasons)) or f"phase {pod.status.phase}, no events yet"


def wait_ready(
    cluster: Cluster,
    name: str = "vllm",
    namespace: str = "ml-models",
    *,
    timeout: float = 600,
    on_line: Callable[[str], None] | None = None,
) -> Pod:
    """Wait until the Deployment's newest pod is Ready; stream its log lines to ``on_line``.

    kubectl equivalent: ``kubectl rollout status deploy/vllm -n ml-models`` while
    ``kubectl logs -f deploy/vllm -n ml-models`` runs in another terminal.
    """
    deployment = cluster.client.get(Deployment, name, namespace=namespace)
    selector = deployment.spec.selector.matchLabels
    deadline = time.monotonic() + timeout
    following: set[str] = set()
    current: list[Pod] = []
    done = threading.Event()  # ends the log streams when the wait ends, either way
    bar = tqdm(desc=f"Waiting for {namespace}/{name}", bar_format="{desc}: {elapsed}", leave=False)
    try:
        while time.monotonic() < deadline:
            current = [
                p
                for p in pods(cluster, namespace, selector)
                if p.metadata.deletionTimestamp is None
            ]
            for pod in current:
                if on_line and pod.status.phase == "Running" and pod.metadata.name not in following:
                    following.add(pod.metadata.name)
                    _follow_in_background(cluster, pod, on_line, done)
                if _ready(pod):
                    return pod
            phases = ", ".join(p.status.phase for p in current) or "no pod"
            bar.set_description(f"Waiting for {namespace}/{name} ({phases})")
            time.sleep(1)
    finally:
        done.set()
        bar.close()
    newest = max(current, key=lambda p: p.metadata.creationTimestamp, default=None)
    why = explain(cluster, newest) if newest else "the Deployment created no pod"
    raise ClusterError(
        f"{namespace}/{name} was not Ready within {timeout:.0f} s:\n{why}",
        f"kubectl describe pod -n {namespace} -l app={name}",
    )


def logs(
    cluster: Cluster,
    pod: str,
    namespace: str = "ml-models",
    *,
    follow: bool = False,
    deadline: float | None = None,
) -> Iterator[str]:
    """A pod's log lines as a generator; ends with the log, or at ``deadline`` (monotonic).

    kubectl equivalent: ``kubectl logs -n ml-models <pod> [-f]``.
    """
    for line in cluster.client.log(pod, namespace=namespace, follow=follow):
        yield line.rstrip("\n")
        if deadline is not None and time.monotonic() > deadline:
            return


def _follow_in_background(
    cluster: Cluster, pod: Pod, on_line: Callable[[str], None], done: threading.Event
) -> None:
    def follow() -> None:
        try:
            for line in logs(cluster, pod.metadata.name, pod.metadata.namespace, follow=True):
                if done.is_set():
                    return
                on_line(line)
        except Exception as exc:  # the pod went away; the wait reports why
            if not done.is_set():
                on_line(f"(log stream ended: {exc})")

    threading.Thread(target=follow, daemon=True).start()
