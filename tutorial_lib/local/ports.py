"""The local cluster's fixed ports on 127.0.0.1, moved together for a second cluster.

One machine can run more than one local cluster (the suite's lanes, ``tests/lanes.py``):
each needs a state folder of its own (``VLLM_TUTORIAL_STATE``) and a port offset of its own
(``VLLM_TUTORIAL_PORT_OFFSET``), by which every port here moves. The control plane's ports
are kwokctl's choice and the pods' the runtime bridge's: both pick free ones.
"""

from __future__ import annotations

import os

from tutorial_lib.errors import LocalClusterError

OFFSET_ENV = "VLLM_TUTORIAL_PORT_OFFSET"
#: Below Linux's ephemeral range (32768-60999), so no outgoing connection can hold it: at
#: 39090 the API server's connection to etcd once took the port before Prometheus started.
PROMETHEUS = 19090
#: Karpenter's metrics and health endpoints, away from the usual 8080/8081.
KARPENTER_METRICS, KARPENTER_HEALTH = 19191, 19192
#: The largest offset that keeps every port below the ephemeral range.
MAX_OFFSET = 32767 - KARPENTER_HEALTH


def offset() -> int:
    raw = os.environ.get(OFFSET_ENV, "").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_OFFSET:
        raise LocalClusterError(
            f"{OFFSET_ENV}={raw!r} is not a port offset from 0 to {MAX_OFFSET}.",
            "Unset it, or give a second local cluster a whole number such as 1000 (and a "
            "VLLM_TUTORIAL_STATE of its own).",
        )
    return int(raw)


def prometheus() -> int:
    return PROMETHEUS + offset()


def karpenter_metrics() -> int:
    return KARPENTER_METRICS + offset()


def karpenter_health() -> int:
    return KARPENTER_HEALTH + offset()
