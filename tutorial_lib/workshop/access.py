"""One kubeconfig per attendee: their ServiceAccount's token, their namespace, nothing more."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import yaml
from kubernetes import client

from tutorial_lib.api.connect import CLUSTER_ENV, LOCAL_OWNER_ENV, NAMESPACE_ENV
from tutorial_lib.errors import ClusterError
from tutorial_lib.kube.connection import Connection

#: The ServiceAccount ``manifests/workshop/attendee.yaml`` gives each attendee.
ACCOUNT = "attendee"


def _server(cluster: Connection) -> dict:
    """The instructor's cluster entry with its CA inline, so the file works on its own."""
    proc = cluster.run_kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "json")
    if proc.returncode != 0:
        raise ClusterError(f"Cannot read the kubeconfig: {proc.stderr.strip()}")
    return json.loads(proc.stdout)["clusters"][0]["cluster"]


def _token(cluster: Connection, namespace: str, hours: float) -> str:
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=int(hours * 3600))
    )
    answer = cluster.call(
        cluster.core.create_namespaced_service_account_token, ACCOUNT, namespace, request
    )
    return answer.status.token


def context_name(namespace: str) -> str:
    return f"vllm-workshop-{namespace}"


def write(cluster: Connection, namespace: str, folder: Path, *, hours: float = 12) -> Path:
    """``<folder>/<namespace>.kubeconfig`` and the ``.env`` that points the notebooks at it.

    The token expires after ``hours`` (a workshop day); ``create`` again writes fresh ones.
    """
    context = context_name(namespace)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": _server(cluster)}],
        "users": [{"name": context, "user": {"token": _token(cluster, namespace, hours)}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": context, "namespace": namespace},
            }
        ],
        "current-context": context,
    }
    folder.mkdir(parents=True, exist_ok=True)
    kubeconfig = (folder / f"{namespace}.kubeconfig").resolve()
    _write_private(kubeconfig, yaml.safe_dump(config, sort_keys=False))
    settings = {
        "KUBECONFIG": str(kubeconfig),
        CLUSTER_ENV: context,
        NAMESPACE_ENV: namespace,
    }
    if cluster.local:  # the local cluster is this account's alone: tl.connect checks it
        settings[LOCAL_OWNER_ENV] = str(os.getuid())
    lines = (f"export {key}={shlex.quote(value)}\n" for key, value in settings.items())
    (folder / f"{namespace}.env").write_text("".join(lines))
    return kubeconfig


def _write_private(path: Path, text: str) -> None:
    """A file only its owner may read, also when it existed before: it holds a token."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def remove(folder: Path, namespace: str) -> None:
    for suffix in (".kubeconfig", ".env"):
        (folder / f"{namespace}{suffix}").unlink(missing_ok=True)
