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
from tutorial_lib.api import kernel, shell
from tutorial_lib.errors import ClusterError
from tutorial_lib.kube.connection import Connection, from_kubeconfig
from tutorial_lib.local import blog_model, monitoring, object_store, paths, runtime
from tutorial_lib.local import cluster as local_cluster
from tutorial_lib.serving.objectstore import ObjectStore

#: ``local`` (the default) or the name of a kubeconfig context: the one switch readers with a
#: cluster of their own and CI use.
CLUSTER_ENV = "VLLM_TUTORIAL_CLUSTER"
#: The namespace the tutorial's objects go into when not ``ml-models``: a workshop
#: attendee's (``attendee-01``), set by the instructor's ``attendee-01.env``.
NAMESPACE_ENV = "VLLM_TUTORIAL_NAMESPACE"
#: In a room's ``.env`` on the local cluster: the Unix account that runs the cluster. The
#: local cluster is one account's (docs/instructors.md), so another account is refused.
LOCAL_OWNER_ENV = "VLLM_TUTORIAL_LOCAL_OWNER"


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
    connection = _connect(context, local, namespace)
    if kernel.shell() is not None:  # a notebook: its !kubectl cells reach this cluster too
        shell.kubectl_in_cells(connection)
    return connection


def _connect(context: str | None, local: bool, namespace: str) -> Connection:
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
    _refuse_another_accounts_local_cluster()
    kubeconfig = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    yours = from_kubeconfig(kubeconfig.expanduser(), context, namespace=namespace)
    # A kubeconfig of your own for the local cluster (a workshop attendee's, on the machine
    # that runs it): the local cluster still, with its Prometheus, runtime and stand-in model.
    return _as_local(yours) if _reaches_local_cluster(yours) else yours


def _refuse_another_accounts_local_cluster() -> None:
    """A room of a local cluster that another Unix account runs: refused, with the reason.

    Its etcd, kubelet API, Prometheus and vLLM ports answer every account on the machine,
    so rooms there keep notebooks apart, not accounts; and the cluster's state (its
    Prometheus, runtime and model) lives in the owner's home, where another account would
    not find it and would apply the EKS overlay instead.
    """
    owner = os.environ.get(LOCAL_OWNER_ENV)
    if owner is None or owner == str(os.getuid()):
        return
    raise ClusterError(
        f"This room is on the local cluster of another Unix account (uid {owner}); the local "
        "cluster is one account's: its services answer every account on the machine.",
        "Work in the instructor's account, or ask for a room on a shared EKS cluster or for "
        "the workshop bundle (docs/instructors.md, One machine for everyone).",
    )


def _as_local(connection: Connection) -> Connection:
    installed = runtime.installed(runtime.serving())
    overlay = "local"
    if installed is not None and installed.build is runtime.Build.CUDA:
        # The blog's model on a real GPU: the blog's manifests, not a line changed.
        overlay = "eks-l4" if blog_model.serves(installed.hf_home) else "local-gpu"
    return dataclasses.replace(
        connection,
        local=True,
        prometheus_url=monitoring.url(),
        vllm_here=runtime.command(installed) if installed else None,
        local_overlay=overlay,
        object_store=_object_store(),
    )


def _object_store() -> ObjectStore:
    account = object_store.credentials()
    return ObjectStore(
        url=object_store.local_url(),
        in_cluster=object_store.in_cluster_urls()[1],
        access_key=account.access_key,
        secret_key=account.secret_key,
    )


def _reaches_local_cluster(connection: Connection) -> bool:
    """Whether the connection's API server is the local cluster's, which runs here."""
    try:
        local = yaml.safe_load(paths.kubeconfig_path().read_text())
        server = local["clusters"][0]["cluster"]["server"]
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return False
    return connection.api.configuration.host.rstrip("/") == server.rstrip("/")
