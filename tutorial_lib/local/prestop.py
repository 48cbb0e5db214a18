"""A container's preStop hook, as far as the local cluster runs one: the sleep action.

On deletion the kubelet runs the hook first and sends SIGTERM after it, both inside the
grace period. Meanwhile the pod is already out of its Service's ready endpoints, so a sleep
there lets every proxy and load balancer stop sending new requests before vLLM stops
accepting them. Kubernetes has a ``sleep`` action for it (1.30 on by default, GA in 1.34),
which needs no ``sleep`` binary in the image. An ``exec`` hook runs a command in the
container and an ``httpGet`` one reaches into it: the bridge runs neither (admission: a pod
runs ``vllm serve`` and nothing else) and reports them as the kubelet reports a hook that
failed, an event ``FailedPreStopHook``, then goes on to SIGTERM, as the kubelet does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The kubelet's event reason for a preStop hook that did not succeed.
FAILED = "FailedPreStopHook"


@dataclass(frozen=True)
class PreStop:
    """What the bridge does before SIGTERM: sleep ``seconds``, or report ``failed``."""

    seconds: float = 0.0
    failed: str | None = None


def pre_stop(container: Any) -> PreStop:
    """The hook of ``container`` (a ``V1Container``), as the bridge can run it."""
    hook = container.lifecycle.pre_stop if container.lifecycle else None
    if hook is None:
        return PreStop()
    if hook.sleep is not None:
        return PreStop(seconds=float(hook.sleep.seconds))
    kind = "exec" if hook._exec is not None else "httpGet" if hook.http_get else "tcpSocket"
    return PreStop(
        failed=f"the local cluster runs no {kind} hook in a container (it runs only vllm "
        "serve); use the sleep action: lifecycle.preStop.sleep.seconds"
    )
