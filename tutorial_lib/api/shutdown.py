"""A request answering while its pod is deleted: cut off, or finished? The pod's log says why.

kubectl equivalent, three terminals: a long ``curl`` to ``/v1/completions`` through
``kubectl port-forward pod/...``; ``kubectl logs -f`` of the pod; then
``kubectl scale deploy/vllm --replicas=0`` (or ``kubectl delete``).
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass, field

import pandas as pd
from kubernetes.client import V1Pod

from tutorial_lib import names
from tutorial_lib.errors import NotReadyError
from tutorial_lib.kube.connection import Connection
from tutorial_lib.kube.logs import log_stream
from tutorial_lib.kube.objects import newest_pod, ready
from tutorial_lib.kube.portforward import PortForward, port_forward
from tutorial_lib.kube.watch import Background
from tutorial_lib.serving import completions, inflight

#: The lines of a shutdown: vLLM's own, and the local cluster's kubelet stand-in's.
SHUTDOWN_LINE = re.compile(
    r"\[shutdown\] API server|draining|\[bridge\] (preStop|SIGTERM|the grace)"
)
#: vLLM's line for the SIGTERM it received (0.18 and later).
TRIGGERED = "shutdown triggered"
#: How long the answer should run on its own: past the preStop sleep and into the drain.
AFTER_PRE_STOP = 10.0
#: The longest answer asked for: well inside the manifests' --max-model-len=4096.
MOST_TOKENS = 2048


@dataclass(frozen=True)
class ShutdownOutcome:
    """What came of the answer, and what the pod logged while it went."""

    pod: str
    asked: int
    received: int
    after_sigterm: int | None  # None: vLLM logged no SIGTERM while we listened
    finish_reason: str | None
    error: str | None
    log: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """The whole answer came, though the pod was told to stop while it was answering."""
        return self.finish_reason == "length" and self.error is None and bool(self.after_sigterm)

    @property
    def verdict(self) -> str:
        if self.finished:
            return f"finished: {self.after_sigterm} of its tokens came after SIGTERM"
        return f"cut off: {self.received} of {self.asked} tokens, then {self.error or 'no end'}"

    def to_frame(self) -> pd.DataFrame:
        after = "no SIGTERM seen" if self.after_sigterm is None else self.after_sigterm
        rows = {
            "pod": self.pod,
            "tokens asked for": self.asked,
            "tokens received": self.received,
            "of them after SIGTERM": after,
            "finish reason": self.finish_reason or "none",
            "verdict": self.verdict,
        }
        return pd.DataFrame({"": list(rows), "value": [str(v) for v in rows.values()]})

    def _repr_html_(self) -> str:
        lines = "\n".join(html.escape(line) for line in self.log) or "(none)"
        return (
            self.to_frame().to_html(index=False)
            + f"<p>The pod's shutdown lines:</p><pre>{lines}</pre>"
        )


@dataclass
class RequestInFlight:
    """The answer streaming, the tunnel it streams through, and the pod's log, followed."""

    pod: str
    request: inflight.InFlight
    tunnel: PortForward
    log: Background[str]
    lines: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read_log, name="shutdown-log", daemon=True).start()
        threading.Thread(target=self._hang_up, name="shutdown-hang-up", daemon=True).start()

    def _hang_up(self) -> None:
        """Once the answer has ended, close the tunnel: a client that gave up hangs up.

        vLLM, having aborted the request, waits for its connections to close before it
        exits; an open tunnel would hold the pod until the grace period's SIGKILL.
        """
        self.request.join()
        self.tunnel.close()

    def _read_log(self) -> None:
        while not self.log.ended:
            line = self.log.get(timeout=0.5)
            if line is not None and SHUTDOWN_LINE.search(line):
                self.lines.append((time.monotonic(), line))

    def outcome(self, timeout: float = 180.0) -> ShutdownOutcome:
        """Wait for the answer to end (finished, failed, or silent too long), then close."""
        self.request.join(timeout)
        time.sleep(1.0)  # the last lines of the log, on their way
        self.log.close()
        self.tunnel.close()
        sigterm = next((moment for moment, line in self.lines if TRIGGERED in line), None)
        return ShutdownOutcome(
            pod=self.pod,
            asked=self.request.max_tokens,
            received=len(self.request.arrivals),
            after_sigterm=None if sigterm is None else self.request.after(sigterm),
            finish_reason=self.request.finish_reason,
            error=self.request.error,
            log=[_without_prefix(line) for _, line in self.lines],
        )


def request_in_flight(cluster: Connection, seconds: float | None = None) -> RequestInFlight:
    """Start a long answer from the serving pod; returns once its first tokens have come.

    ``seconds``: how long it should take; by default the pod's preStop sleep plus 10 s, so
    that it is still answering when SIGTERM comes.
    """
    pod = newest_pod(cluster)
    if not ready(pod):
        raise NotReadyError(
            f"{pod.metadata.name} is not Ready: there is nothing to answer the request.",
            f"Wait for it: tl.wait_ready(cluster), or kubectl get pods -n {cluster.namespace}",
        )
    name = pod.metadata.name
    tunnel = port_forward(cluster, f"pod/{name}", names.HTTP_PORT).__enter__()
    try:
        model = completions.served_model(tunnel.url)
        duration = seconds if seconds is not None else _pre_stop_seconds(pod) + AFTER_PRE_STOP
        tokens = inflight.tokens_for(tunnel.url, model, duration, MOST_TOKENS)
        log = log_stream(cluster, name, cluster.namespace, follow=True, tail=1)
        request = inflight.InFlight(tunnel.url, model, tokens)
        request.answering()
    except BaseException:
        tunnel.close()
        raise
    return RequestInFlight(name, request, tunnel, log)


def _pre_stop_seconds(pod: V1Pod) -> float:
    container = pod.spec.containers[0]
    hook = container.lifecycle.pre_stop if container.lifecycle else None
    return float(hook.sleep.seconds) if hook is not None and hook.sleep is not None else 0.0


def _without_prefix(line: str) -> str:
    """A log line without vLLM's process tag and level, as a reader scans it."""
    return re.sub(r"^\(\w+ pid=\d+\) \w+ \S+ \S+ \[[^\]]+\] ", "", line)
