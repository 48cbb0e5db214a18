"""Pod logs as a generator or a live display, with follow, since, filter and a stop pattern.

kubectl equivalent: ``kubectl logs -n ml-models deploy/vllm -f --since=10m | grep KV``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator

from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from tutorial_lib.kube import Cluster, ClusterError, pods, ready
from tutorial_lib.streams import BackgroundStream


def newest_pod(cluster: Cluster, name: str = "vllm", namespace: str = "ml-models") -> Pod:
    """The Deployment's youngest live pod, preferring Ready ones: after a rollout, the new one.

    (``kubectl logs deploy/vllm`` picks a Ready pod too, but the oldest.)
    """
    deployment = cluster.client.get(Deployment, name, namespace=namespace)
    found = pods(cluster, namespace, deployment.spec.selector.matchLabels)
    if not found:
        raise ClusterError(
            f"{namespace}/{name} has no pod.",
            f"Is it scaled to zero? kubectl get deploy -n {namespace} {name}",
        )
    return max(found, key=lambda p: (ready(p), p.metadata.creationTimestamp))


def log_stream(
    cluster: Cluster,
    pod: str,
    namespace: str,
    *,
    follow: bool = False,
    since: int | None = None,
    tail: int | None = None,
) -> BackgroundStream[str]:
    """A pod's log lines in the background (see ``Cluster.stream``)."""

    async def lines(client: AsyncClient) -> AsyncIterator[str]:
        async for line in client.log(
            pod, namespace=namespace, follow=follow, since=since, tail_lines=tail
        ):
            yield line.rstrip("\n")

    return cluster.stream(lines)


def logs(
    cluster: Cluster,
    pod: str | None = None,
    namespace: str = "ml-models",
    *,
    follow: bool = False,
    since: int | None = None,
    tail: int | None = None,
    grep: str | None = None,
    until: str | None = None,
    timeout: float | None = None,
) -> Iterator[str]:
    """A pod's log lines (default: the vLLM Deployment's newest pod).

    ``since`` seconds back, the last ``tail`` lines, only lines matching the regex ``grep``;
    stops after a line matching ``until``, when the log ends, or after ``timeout`` seconds
    even if no line arrives.
    """
    name = pod or newest_pod(cluster, namespace=namespace).metadata.name
    deadline = None if timeout is None else time.monotonic() + timeout
    keep = re.compile(grep) if grep else None
    stop = re.compile(until) if until else None

    with log_stream(cluster, name, namespace, follow=follow, since=since, tail=tail) as s:
        for line in s.until(deadline):
            if keep is None or keep.search(line):
                yield line
            if stop is not None and stop.search(line):
                return


def show_logs(cluster: Cluster, pod: str | None = None, **options: object) -> list[str]:
    """Print log lines as they arrive (live in a notebook) and return them for checks."""
    shown = []
    for line in logs(cluster, pod, **options):  # type: ignore[arg-type]
        print(line, flush=True)
        shown.append(line)
    return shown
