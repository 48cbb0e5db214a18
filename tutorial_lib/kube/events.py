"""Warning events, as a kubelet or an operator writes them: ``kubectl describe`` shows them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tutorial_lib.errors import ClusterError
from tutorial_lib.kube.connection import Connection

log = logging.getLogger(__name__)


def warn(
    connection: Connection,
    involved: dict[str, Any],
    reason: str,
    message: str,
    source: dict[str, str],
) -> None:
    """A Warning event on ``involved`` (apiVersion, kind, namespace, name; uid if known).

    Best effort: when the namespace is going away or the API server restarts, the event is
    lost and the caller goes on (it says the same in its own log).
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    namespace = involved["namespace"]
    event = {
        "metadata": {"generateName": f"{involved['name']}.", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message[:1024],
        "type": "Warning",
        "source": source,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    try:
        connection.call(connection.core.create_namespaced_event, namespace, event)
    except ClusterError as exc:
        log.info("no event on %s %s/%s (%s)", involved["kind"], namespace, involved["name"], exc)
