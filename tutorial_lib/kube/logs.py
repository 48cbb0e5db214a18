"""Pod logs as a generator or a live display, with follow, since, filter and a stop pattern.

kubectl equivalent: ``kubectl logs -n ml-models deploy/vllm -f --since=10m | grep KV``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from tutorial_lib import names
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.objects import newest_pod
from tutorial_lib.kube.watch import Background, StreamingRequest


def log_stream(
    cluster: Connection,
    pod: str,
    namespace: str,
    *,
    follow: bool = False,
    previous: bool = False,
    since: int | None = None,
    tail: int | None = None,
    container: str | None = None,
) -> Background[str]:
    """A pod's log lines, read in the background: the one way the library reads logs.

    ``previous``: the container's run before its last restart (``kubectl logs --previous``);
    ``container``: an init container's, say (``kubectl logs -c``); by default the pod's one.
    A followed log is read until ``close()``, which cancels the request at once.
    """
    options = {
        "previous": previous,
        "since_seconds": since,
        "tail_lines": tail,
        "container": container,
    }
    options = {key: value for key, value in options.items() if value}
    request = StreamingRequest(cluster)

    def lines() -> Iterator[str]:
        if follow:
            for line in request.lines(
                cluster.core.read_namespaced_pod_log, pod, namespace, follow=True, **options
            ):
                yield line.rstrip("\n")
        else:
            text = cluster.call(cluster.core.read_namespaced_pod_log, pod, namespace, **options)
            yield from (text or "").splitlines()

    return Background(lines(), request.stop)


def logs(
    cluster: Connection,
    pod: str | None = None,
    namespace: str | None = None,
    *,
    follow: bool = False,
    previous: bool = False,
    since: int | None = None,
    tail: int | None = None,
    grep: str | None = None,
    until: str | None = None,
    timeout: float | None = None,
    deployment: str = names.DEPLOYMENT,
) -> Iterator[str]:
    """A pod's log lines (default: the newest pod of ``deployment``, the tutorial's vLLM).

    ``since`` seconds back, the last ``tail`` lines, only lines matching the regex ``grep``;
    stops after a line matching ``until``, when the log ends, or after ``timeout`` seconds
    even if no line arrives.
    """
    namespace = namespace or cluster.namespace
    name = pod or newest_pod(cluster, deployment, namespace).metadata.name
    deadline = None if timeout is None else time.monotonic() + timeout
    keep = re.compile(grep) if grep else None
    stop = re.compile(until) if until else None
    with log_stream(
        cluster, name, namespace, follow=follow, previous=previous, since=since, tail=tail
    ) as stream:
        for line in stream.until(deadline):
            if keep is None or keep.search(line):
                yield line
            if stop is not None and stop.search(line):
                return


def show_logs(cluster: Connection, pod: str | None = None, **options: object) -> list[str]:
    """Print log lines as they arrive (live in a notebook) and return them for checks."""
    shown = []
    for line in logs(cluster, pod, **options):  # type: ignore[arg-type]
        print(line, flush=True)
        shown.append(line)
    return shown
