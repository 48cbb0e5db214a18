"""``tl.connect()``: the reader's own cluster when one is named, else the local one.

The one place the tutorial's API reaches the local cluster package: everything after
``connect`` works on the ``Connection`` alone, whichever cluster it points at.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import yaml

from tutorial_lib import names
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.local import cluster as local_cluster
from tutorial_lib.local import monitoring, paths, runtime

#: ``local`` (the default) or the name of a kubeconfig context: the one switch readers with a
#: cluster of their own and CI use.
CLUSTER_ENV = "VLLM_TUTORIAL_CLUSTER"
#: The namespace the tutorial's objects go into when not ``ml-models``: a workshop
#: attendee's (``attendee-01``), set by the instructor's ``attendee-01.env``.
NAMESPACE_ENV = "VLLM_TUTORIAL_NAMESPACE"


def connect(
    context: str | None = None, *, local: bool | None = None, namespace: str | None = None
) -> Connection:
    """Connect to a kubeconfig context, or to the local cluster, starting it when needed.

    Without arguments the choice is ``VLLM_TUTORIAL_CLUSTER``: unset or ``local`` means the
    local cluster; any other value names a context of ``$KUBECONFIG`` (``~/.kube/config``).
    The namespace is ``namespace``, else ``VLLM_TUTORIAL_NAMESPACE``, else ``ml-models``.
    """
    namespace = namespace or os.environ.get(NAMESPACE_ENV) or names.NAMESPACE
    choice = os.environ.get(CLUSTER_ENV, "local")
    if local is None:
        local = context is None and choice == "local"
        context = context or (None if local else choice)
    if local:
        current = local_cluster.status()
        if not current.healthy:
            print(
                f"No cluster of your own named ({CLUSTER_ENV} is unset): starting the local "
                "cluster. Set it to a kubeconfig context to use yours.",
                flush=True,
            )
        local_cluster.up(current)
        admin = from_kubeconfig(paths.kubeconfig_path(), local_cluster.CONTEXT, namespace=namespace)
        return _as_local(admin)
    kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    yours = from_kubeconfig(kubeconfig.expanduser(), context, namespace=namespace)
    # A kubeconfig of your own for the local cluster (a workshop attendee's, on the machine
    # that runs it): the local cluster still, with its Prometheus, runtime and stand-in model.
    return _as_local(yours) if _reaches_local_cluster(yours) else yours


def _as_local(connection: Connection) -> Connection:
    installed = runtime.installed()
    return dataclasses.replace(
        connection,
        local=True,
        prometheus_url=monitoring.url(),
        vllm_here=runtime.command(installed) if installed else None,
    )


def _reaches_local_cluster(connection: Connection) -> bool:
    """Whether the connection's API server is the local cluster's, which runs here."""
    try:
        local = yaml.safe_load(paths.kubeconfig_path().read_text())
        server = local["clusters"][0]["cluster"]["server"]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return False
    return connection.api.configuration.host.rstrip("/") == server.rstrip("/")
