"""A connection to one cluster: the official client for API calls, kubectl for what a reader types.

Which transport does which job (docs/decisions.md):

* the official ``kubernetes`` client for every read, patch, watch and log stream, through
  ``Connection.call`` so that its errors become the tutorial's (``tutorial_lib.errors``);
* kubectl for the commands the reader would type themselves and that have no single API
  call of their own: ``apply -k`` and ``delete -k`` (kustomize, server-side apply with its
  conflict rules, and the ``get -f`` that tells what an apply changed), and
  ``port-forward`` (a SPDY/WebSocket tunnel).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tutorial_lib import names
from tutorial_lib.errors import ClusterError, Expired, NotFound, Unreachable
from tutorial_lib.tools import binaries, manifests, process

if TYPE_CHECKING:  # boto3 loads only where an adapter is uploaded
    from tutorial_lib.serving.objectstore import ObjectStore

T = TypeVar("T")

#: Errors of the transport below the API: refused, reset, timed out, TLS.
TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)


@dataclass
class Connection:
    """One kubeconfig context: the official client's ``ApiClient`` and the kubectl command.

    ``local`` marks the tutorial's simulated cluster (its GPU nodes are Karpenter's, simulated);
    ``namespace`` is where the tutorial's objects live; ``prometheus_url`` is a Prometheus
    known without a port-forward (the local cluster's); ``vllm_here`` a ``vllm`` command on
    this machine (the local runtime's), else vLLM's tools run in the pod.
    """

    kubeconfig: Path
    context: str
    api: client.ApiClient = field(repr=False)
    local: bool = False
    namespace: str = names.NAMESPACE
    prometheus_url: str | None = None
    vllm_here: tuple[str, ...] | None = None
    #: The local cluster's overlay: ``local`` (the CPU stand-in), ``local-gpu`` (its GPU node
    #: runs on this machine's GPU, with the stand-in) or ``eks-l4`` (there, with the blog's
    #: model downloaded: the blog's manifests unchanged).
    local_overlay: str = "local"
    #: The local cluster's object store (its S3 API, where the LoRA adapters wait); None on
    #: any other cluster, whose pods read AWS's S3.
    object_store: ObjectStore | None = None

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def discovery(self) -> client.DiscoveryV1Api:
        return client.DiscoveryV1Api(self.api)

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def apiextensions(self) -> client.ApiextensionsV1Api:
        return client.ApiextensionsV1Api(self.api)

    @property
    def overlay(self) -> Path:
        """The tutorial's overlay for this cluster: a local one, else the blog's ``eks-l4``.

        ``VLLM_TUTORIAL_OVERLAY`` chooses another (``local-base``: a base model).
        """
        return manifests.default_overlay(self.local_overlay if self.local else "eks-l4")

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``method(*args, **kwargs)``, its errors translated into the tutorial's."""
        try:
            return method(*args, **kwargs)
        except ApiException as exc:
            raise self.api_error(exc, getattr(method, "__name__", "request")) from exc
        except TRANSPORT_ERRORS as exc:
            raise self.unreachable(exc) from exc

    def api_error(self, exc: ApiException, what: str) -> ClusterError:
        """The server's refusal in the tutorial's terms: status, its message, a hint."""
        status = int(exc.status or 0)
        message = _server_message(exc)
        text = f"{what.replace('_', ' ')}: {status} {exc.reason or ''}: {message}".strip()
        if status == 404:
            return NotFound(
                text, "Apply the manifests first: tl.apply(cluster, cluster.overlay)", status=status
            )
        if status == 410:
            return Expired(
                text, "List again and watch from the list's resourceVersion.", status=status
            )
        return ClusterError(text, _HINTS.get(status, self._reachability_hint()), status=status)

    def unreachable(self, exc: BaseException) -> Unreachable:
        return Unreachable(
            f"No answer from the API server of context {self.context}: {_reason(exc)}",
            self._reachability_hint(),
        )

    def _reachability_hint(self) -> str:
        if self.local:
            return "Is the local cluster running? python -m tutorial_lib.local status"
        return f"Is the cluster reachable? kubectl --context {self.context} get nodes"

    @property
    def kubectl(self) -> list[str]:
        return [
            str(binaries.kubectl()),
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            self.context,
        ]

    def run_kubectl(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return process.run(
            [*self.kubectl, *args],
            input=input,
            timeout=timeout,
            what=f"kubectl {args[0]}",
            error=Unreachable,
            hint=self._reachability_hint(),
        )

    def __repr__(self) -> str:
        where = "the local cluster (kwok, simulated GPU nodes)" if self.local else "your cluster"
        return f"Connection(context={self.context!r}, {where}, namespace={self.namespace!r})"


_HINTS = {
    401: "The kubeconfig's credentials were refused; on EKS: aws eks update-kubeconfig ...",
    403: "Your user may not do this: kubectl auth can-i --list -n <namespace>",
    409: "Someone else changed it meanwhile; run the step again.",
    422: "The message names the field the server refused; fix it in the YAML.",
}


def from_kubeconfig(
    kubeconfig: Path,
    context: str | None = None,
    *,
    local: bool = False,
    namespace: str = names.NAMESPACE,
    prometheus_url: str | None = None,
    vllm_here: tuple[str, ...] | None = None,
) -> Connection:
    """A connection for one context of a kubeconfig file (its current one by default)."""
    try:
        contexts, current = config.list_kube_config_contexts(str(kubeconfig))
        chosen = context or current["name"]
        if chosen not in {c["name"] for c in contexts}:
            raise config.ConfigException(f"no context {chosen!r}")
        api = config.new_client_from_config(config_file=str(kubeconfig), context=chosen)
    except (config.ConfigException, OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ClusterError(
            f"Cannot use kubeconfig {kubeconfig} (context {context or 'current'}): "
            + " ".join(str(exc).split()),
            "Set KUBECONFIG or pass context=..., or use the local cluster: "
            "python -m tutorial_lib.local up",
        ) from exc
    return Connection(
        kubeconfig=kubeconfig,
        context=chosen,
        api=api,
        local=local,
        namespace=namespace,
        prometheus_url=prometheus_url,
        vllm_here=vllm_here,
    )


def _server_message(exc: ApiException) -> str:
    """The ``message`` of the Status object the server sent, else the raw body or reason."""
    try:
        return str(json.loads(exc.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return (exc.body or "").strip()[:300]


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
