"""Port-forward through the API server, as a context manager.

kubectl equivalent: ``kubectl port-forward -n ml-models svc/vllm-service 8000:8000``.
The tunnel runs through the API server and the kubelet, so it works on any cluster the
kubeconfig reaches; NetworkPolicies do not apply to it.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from tutorial_lib.errors import TutorialError

if TYPE_CHECKING:
    from tutorial_lib.kube import Cluster

_READY_LINE = "Forwarding from 127.0.0.1:"


class PortForwardError(TutorialError):
    """The tunnel could not be opened, or closed under us."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PortForward:
    """An open tunnel from ``127.0.0.1:local_port`` to ``target``'s ``remote_port``.

    >>> with PortForward(kubectl, "svc/vllm-service", 8000, namespace="ml-models") as pf:
    ...     httpx.get(pf.url + "/health")
    """

    kubectl: list[str]
    target: str
    remote_port: int
    namespace: str = "ml-models"
    local_port: int = 0
    timeout: float = 30.0
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def __enter__(self) -> PortForward:
        if self.local_port and not _port_free(self.local_port):
            raise PortForwardError(
                f"Local port {self.local_port} is already in use.",
                "Leave local_port unset to get a free one, or stop what listens there "
                f"(ss -ltnp | grep :{self.local_port}).",
            )
        self.local_port = self.local_port or free_port()
        command = [
            *self.kubectl,
            "port-forward",
            "-n",
            self.namespace,
            "--address",
            "127.0.0.1",
            self.target,
            f"{self.local_port}:{self.remote_port}",
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._wait_forwarding()
        return self

    def _wait_forwarding(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + self.timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if line.startswith(_READY_LINE):
                # kubectl writes a line per connection; an unread pipe would block it.
                threading.Thread(target=self._drain, daemon=True).start()
                return
            if line:
                seen.append(line.strip())
            elif self._process.poll() is not None:
                break
        self.close()
        raise PortForwardError(
            f"kubectl port-forward to {self.target} failed: {' '.join(seen) or 'no output'}",
            "Is the pod Running? (kubectl get pods -n "
            f"{self.namespace}). A Service needs at least one ready endpoint.",
        )

    def _drain(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for _ in self._process.stdout:
            pass

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_forward(
    cluster: Cluster,
    target: str = "svc/vllm-service",
    port: int = 8000,
    *,
    namespace: str = "ml-models",
    local_port: int = 0,
) -> PortForward:
    """A tunnel to ``target`` (``svc/...`` or ``pod/...``); use it in a ``with`` block.

    kubectl equivalent: ``kubectl port-forward -n ml-models svc/vllm-service 8000:8000``.
    """
    return PortForward(cluster.kubectl, target, port, namespace=namespace, local_port=local_port)
