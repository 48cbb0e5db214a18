"""What the kubelet reads from Secrets and ConfigMaps: env values, and secret volumes' files.

A secret belongs in a Secret, not in the pod spec (where ``kubectl get -o yaml`` shows it to
anyone who may read pods) nor in the args (where ``ps`` shows it): ``env[].valueFrom.
secretKeyRef``. The kubelet reads the Secret from the pod's own namespace when it starts the
container, and refuses to start it while the Secret or its key is missing
(``CreateContainerConfigError``, with its message); so does the bridge.
"""

from __future__ import annotations

import base64
from typing import Any

from tutorial_lib.errors import NotFound
from tutorial_lib.kube.connection import Connection

#: The kubelet's waiting reason for a container whose configuration it cannot build.
REASON = "CreateContainerConfigError"


class ConfigError(Exception):
    """The container's environment names something missing; the message is the kubelet's."""


def resolve(connection: Connection, namespace: str, container: Any) -> list[tuple[str, str]]:
    """Each env var of ``container`` (a ``V1Container``) with its value, in order."""
    pairs: list[tuple[str, str]] = []
    for var in container.env or []:
        source = var.value_from
        if source is None:
            pairs.append((var.name, var.value or ""))
            continue
        value = _referenced(connection, namespace, var.name, source)
        if value is not None:  # None: an optional reference to something missing
            pairs.append((var.name, value))
    return pairs


def _referenced(connection: Connection, namespace: str, name: str, source: Any) -> str | None:
    if source.secret_key_ref is not None:
        ref, kind, word = source.secret_key_ref, "Secret", "secret"
        read = connection.core.read_namespaced_secret
    elif source.config_map_key_ref is not None:
        ref, kind, word = source.config_map_key_ref, "ConfigMap", "configmap"
        read = connection.core.read_namespaced_config_map
    else:
        raise ConfigError(
            f"env {name}: the local cluster fills values from a secretKeyRef or a "
            "configMapKeyRef only"
        )
    try:
        found = connection.call(read, ref.name, namespace)
    except NotFound:
        if ref.optional:
            return None
        raise ConfigError(f'{word} "{ref.name}" not found') from None
    data = _decoded(found.data or {}) if kind == "Secret" else (found.data or {})
    if ref.key not in data:
        if ref.optional:
            return None
        raise ConfigError(f"couldn't find key {ref.key} in {kind} {namespace}/{ref.name}")
    return data[ref.key]


def _decoded(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def secret_files(connection: Connection, namespace: str, volume: Any) -> dict[str, bytes]:
    """A ``secret`` volume's files (``V1Volume``): each key of the Secret, as the kubelet mounts it.

    A missing Secret is no files when the volume is ``optional``, else the kubelet's error.
    """
    source = volume.secret
    try:
        found = connection.call(
            connection.core.read_namespaced_secret, source.secret_name, namespace
        )
    except NotFound:
        if source.optional:
            return {}
        raise ConfigError(f'secret "{source.secret_name}" not found') from None
    return {key: base64.b64decode(value) for key, value in (found.data or {}).items()}
