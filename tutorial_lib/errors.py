"""Every exception the tutorial raises, each with a hint at the fix.

A reader in a notebook sees the message and the hint, never a bare traceback from deep
inside a client library: transport and API errors are translated where they enter
(``tutorial_lib.kube.connection.Connection.call``), the original kept as ``__cause__``.
"""

from __future__ import annotations


class TutorialError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do next.

    ``status`` is the API server's HTTP status where one answered (404, 409, 410, ...),
    ``None`` when the error did not come from a server.
    """

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class SizingError(TutorialError):
    """The sizing arithmetic was given a model, dtype or figure it does not know."""


class ClusterError(TutorialError):
    """The cluster refused a request, or did not reach the state we waited for."""


class NotFound(ClusterError):
    """The object asked for does not exist (HTTP 404)."""


class QuotaExceeded(ClusterError):
    """A ResourceQuota refused a pod: the ReplicaSet could not even create it."""


class Unreachable(ClusterError):
    """No answer from the API server: it is down, restarting, or the address is wrong."""


class Expired(ClusterError):
    """A watch's resourceVersion is older than the server keeps (HTTP 410 Gone)."""


class ManifestError(TutorialError):
    """A manifest could not be rendered or was refused."""


class PortForwardError(TutorialError):
    """The tunnel could not be opened, or closed under us."""


class ServingError(TutorialError):
    """vLLM did not answer as expected (not ready yet, wrong URL, an HTTP error)."""


class NotReadyError(ServingError):
    """vLLM did not answer within the retry budget."""


class NoChatTemplate(ServingError):
    """The served model is a base model: it has no chat template, so vLLM refuses chats."""


class MetricsError(ServingError):
    """``/metrics`` could not be read or lacks what was asked for."""


class PrometheusError(TutorialError):
    """Prometheus could not be reached or refused a query."""


class CheckFailed(TutorialError):
    """One of the smoke test's checks did not hold."""


class ToolError(TutorialError):
    """A tool (kubectl, the policy engine, promtool) could not be obtained or failed."""


class LocalClusterError(ToolError):
    """The local cluster could not be prepared, started or stopped."""
