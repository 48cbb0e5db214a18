"""The local cluster's fixed ports on 127.0.0.1, moved together for a second cluster.

One machine can run more than one local cluster (the suite's lanes, ``tests/lanes.py``):
each needs a state folder of its own (``VLLM_TUTORIAL_STATE``) and a port offset of its own
(``VLLM_TUTORIAL_PORT_OFFSET``), by which every port here moves. The control plane's ports
are set for kwokctl too; the pods' are the runtime bridge's pick of free ones.
"""

from __future__ import annotations

import os

from tutorial_lib.errors import LocalClusterError

OFFSET_ENV = "VLLM_TUTORIAL_PORT_OFFSET"
#: Below Linux's ephemeral range (32768-60999), so no outgoing connection can hold it: at
#: 39090 the API server's connection to etcd once took the port before Prometheus started.
PROMETHEUS = 19090
#: The object store's S3 API (``object_store``): where the LoRA adapters wait for their pods.
OBJECT_STORE = 19070
#: Karpenter's metrics and health endpoints, away from the usual 8080/8081.
KARPENTER_METRICS, KARPENTER_HEALTH = 19191, 19192
#: The control plane's ports are ours, not kwokctl's pick: kwokctl takes the first free port
#: counting down from 32767, so two clusters created at once (the suite's lanes) both took
#: 32766 for their API server and the second failed on the first one's certificate. etcd's
#: are also needed before kwokctl starts: its TLS overrides the URLs kwokctl writes.
KUBE_APISERVER, KWOK_CONTROLLER = 19443, 19247
KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER = 19257, 19259
ETCD_CLIENT, ETCD_PEER = 19379, 19380
#: Every fixed port and what listens there (``doctor`` names the one taken).
LISTENERS = {
    PROMETHEUS: "the local Prometheus",
    OBJECT_STORE: "the local object store (versitygw)",
    KARPENTER_METRICS: "Karpenter's metrics",
    KARPENTER_HEALTH: "Karpenter's health probe",
    KUBE_APISERVER: "the API server",
    KWOK_CONTROLLER: "the kwok controller",
    KUBE_CONTROLLER_MANAGER: "the controller manager",
    KUBE_SCHEDULER: "the scheduler",
    ETCD_CLIENT: "etcd",
    ETCD_PEER: "etcd's peer port",
}
#: The largest offset that keeps every port below the ephemeral range.
MAX_OFFSET = 32767 - max(LISTENERS)


def offset() -> int:
    raw = os.environ.get(OFFSET_ENV, "").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_OFFSET:
        raise LocalClusterError(
            f"{OFFSET_ENV}={raw!r} is not a port offset from 0 to {MAX_OFFSET}.",
            "Unset it, or give a second local cluster a whole number such as 1000 (and a "
            "VLLM_TUTORIAL_STATE of its own).",
        )
    return int(raw)


def fixed() -> dict[int, str]:
    """Every fixed port of this cluster (moved by its offset) and what listens there."""
    return {port + offset(): listener for port, listener in LISTENERS.items()}


def prometheus() -> int:
    return PROMETHEUS + offset()


def object_store() -> int:
    return OBJECT_STORE + offset()


def karpenter_metrics() -> int:
    return KARPENTER_METRICS + offset()


def karpenter_health() -> int:
    return KARPENTER_HEALTH + offset()


def etcd_client() -> int:
    return ETCD_CLIENT + offset()


def etcd_peer() -> int:
    return ETCD_PEER + offset()


def kube_apiserver() -> int:
    return KUBE_APISERVER + offset()


def kwok_controller() -> int:
    return KWOK_CONTROLLER + offset()


def kube_controller_manager() -> int:
    return KUBE_CONTROLLER_MANAGER + offset()


def kube_scheduler() -> int:
    return KUBE_SCHEDULER + offset()
