from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from tests.helpers import eventually
from tutorial_lib.local import cluster, paths


@pytest.fixture(scope="session")
def client(local_cluster) -> Client:
    config = KubeConfig.from_file(paths.kubeconfig_path())
    return Client(config.get(context_name=cluster.CONTEXT))


@pytest.fixture
def namespace(client: Client) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    client.create(Namespace(metadata={"name": name}))
    # Pods are refused until the controller-manager has created the default ServiceAccount.
    eventually(
        lambda: list(client.list(ServiceAccount, namespace=name)),
        timeout=30,
        what=f"the default ServiceAccount in {name}",
    )
    yield name
    client.delete(Namespace, name)
