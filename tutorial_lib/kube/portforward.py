"""Port-forward through the API server, as a context manager.

kubectl equivalent: ``kubectl port-forward -n ml-models svc/vllm-service 8000:8000``.
The tunnel runs through the API server and the kubelet, so it works on any cluster the
kubeconfig reaches; NetworkPolicies do not apply to it.

kubectl picks the local port itself (``:8000``) unless one is asked for, so no other
program can take the port between choosing and listening. Its output is read for the
tunnel's whole life: it writes a line per connection, and a full pipe would stall it.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
from dataclasses import dataclass, field
from types import TracebackType

from tutorial_lib import names
from tutorial_lib.errors import PortForwardError
from tutorial_lib.kube.connection import Connection

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
_IN_USE = ("address already in use", "unable to listen on port")


@dataclass
class PortForward:
    """An open tunnel from ``127.0.0.1:local_port`` to ``target``'s ``remote_port``.

    >>> with PortForward(kubectl, "svc/vllm-service", 8000, namespace="ml-models") as pf:
    ...     httpx.get(pf.url + "/health")
    """

    kubectl: list[str]
    target: str
    remote_port: int
    namespace: str = names.NAMESPACE
    local_port: int = 0
    timeout: float = 30.0
    output: list[str] = field(default_factory=list, repr=False)
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def __enter__(self) -> PortForward:
        command = [
            *self.kubectl,
            "port-forward",
            "-n",
            self.namespace,
            "--address",
            "127.0.0.1",
            self.target,
            f"{self.local_port or ''}:{self.remote_port}",
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,  # kubectl would otherwise ask the terminal for a username
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_forwarding()
        return self

    def _read(self) -> None:
        """Every line kubectl writes, for the tunnel's whole life; ``None`` at its end."""
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _wait_forwarding(self) -> None:
        try:
            while True:
                line = self._lines.get(timeout=self.timeout)
                if line is None:
                    break
                self.output.append(line)
                if match := _FORWARDING.match(line):
                    self.local_port = int(match.group(1))
                    return
        except queue.Empty:
            self.output.append(f"(no answer within {self.timeout:.0f} s)")
        self.close()
        seen = " ".join(self.output) or "no output"
        if any(text in seen for text in _IN_USE):
            raise PortForwardError(
                f"Local port {self.local_port} is already in use: {seen}",
                "Leave local_port unset to let kubectl pick a free one, or stop what "
                f"listens there (ss -ltnp | grep :{self.local_port}).",
            )
        raise PortForwardError(
            f"kubectl port-forward to {self.target} failed: {seen}",
            f"Is the pod Running? (kubectl get pods -n {self.namespace}). "
            "A Service needs at least one ready endpoint.",
        )

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


def port_forward(
    cluster: Connection,
    target: str = f"svc/{names.SERVICE}",
    port: int = names.HTTP_PORT,
    *,
    namespace: str | None = None,
    local_port: int = 0,
    timeout: float = 30.0,
) -> PortForward:
    """A tunnel to ``target`` (``svc/...`` or ``pod/...``); use it in a ``with`` block.

    kubectl equivalent: ``kubectl port-forward -n ml-models svc/vllm-service 8000:8000``.
    """
    return PortForward(
        cluster.kubectl,
        target,
        port,
        namespace=namespace or cluster.namespace,
        local_port=local_port,
        timeout=timeout,
    )
