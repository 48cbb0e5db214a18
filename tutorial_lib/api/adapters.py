r"""The tutorial's LoRA adapter into the cluster's object store, where its init container looks.

kubectl/aws equivalent on the local cluster (``ENDPOINT`` its object store's address here,
``KEY``/``SECRET`` its credentials)::

    aws --endpoint-url ENDPOINT s3 cp adapters/tutorial-qa/ \
        s3://vllm-tutorial-adapters/tutorial-qa/v1/ --recursive
    kubectl -n ml-models create configmap adapter-store \
        --from-literal=endpoint=http://object-store.object-store.svc:7070
    printf '[default]\naws_access_key_id = KEY\naws_secret_access_key = SECRET\n' > credentials
    kubectl -n ml-models create secret generic adapter-store --from-file=credentials

On EKS only the upload, to your own bucket, with your own AWS credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tutorial_lib.kube import objects
from tutorial_lib.kube.connection import Connection
from tutorial_lib.serving import objectstore

#: The adapters the repository ships (adapters/README.md says how each was made).
ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
#: What components/lora names: the adapter's prefix in the bucket, and the objects' names.
STORE_OBJECT = "adapter-store"


def publish_adapter(
    cluster: Connection,
    name: str = "tutorial-qa",
    *,
    bucket: str = objectstore.BUCKET,
    version: str = "v1",
    files: Iterable[str] | None = None,
) -> pd.DataFrame:
    """``s3://bucket/<name>/<version>/`` holds ``adapters/<name>/``; a table of the objects.

    ``files``: only these of the adapter's files, the others removed from the bucket (a
    broken delivery, on purpose). On the local cluster also the ConfigMap and Secret
    ``adapter-store`` of the namespace, which point the init container at the local object
    store.
    """
    store = cluster.object_store or objectstore.ObjectStore()
    keys = objectstore.publish(store, ADAPTERS / name, bucket, f"{name}/{version}", files)
    if cluster.object_store is not None:
        store_objects = _store_objects(cluster.object_store, cluster.namespace)
        objects.apply_objects(cluster, store_objects, "the adapter store's ConfigMap and Secret")
    sizes = {file.name: file.stat().st_size for file in (ADAPTERS / name).iterdir()}
    return pd.DataFrame(
        {
            "object": [f"s3://{bucket}/{key}" for key in keys],
            "bytes": [sizes[key.rsplit("/", 1)[1]] for key in keys],
        }
    )


def _credentials_file(store: objectstore.ObjectStore) -> str:
    """The aws CLI's credentials file (``AWS_SHARED_CREDENTIALS_FILE``), for the default profile."""
    return (
        f"[default]\naws_access_key_id = {store.access_key}\n"
        f"aws_secret_access_key = {store.secret_key}\n"
    )


def _store_objects(store: objectstore.ObjectStore, namespace: str) -> list[dict]:
    meta = {"name": STORE_OBJECT, "namespace": namespace}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"endpoint": store.in_cluster},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "Opaque",
            "stringData": {"credentials": _credentials_file(store)},
        },
    ]
