r"""The tutorial's LoRA adapters into the cluster's object store, where the init container looks.

kubectl/aws equivalent on the local cluster (``ENDPOINT`` its object store's address here,
``KEY``/``SECRET`` its credentials)::

    for name in tutorial-qa tutorial-qa-de; do
      aws --endpoint-url ENDPOINT s3 cp adapters/$name/ \
          s3://vllm-tutorial-adapters/$name/v1/ --recursive
    done
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

from tutorial_lib.errors import TutorialError
from tutorial_lib.kube import objects
from tutorial_lib.kube.connection import Connection
from tutorial_lib.serving import lora, objectstore

#: The adapters the repository ships (adapters/README.md says how each was made).
ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
#: What components/lora names: the ConfigMap and Secret that point at the local store.
STORE_OBJECT = "adapter-store"
#: The adapters components/lora delivers: two versions of one adapter, as post 9 A/B-tests
#: them (the same lessons answered in English, then in German).
SHIPPED = ("tutorial-qa", "tutorial-qa-de")


def publish_adapters(
    cluster: Connection,
    names: Iterable[str] = SHIPPED,
    *,
    bucket: str = objectstore.BUCKET,
    version: str = "v1",
    files: Iterable[str] | None = None,
) -> pd.DataFrame:
    """``s3://bucket/<name>/<version>/`` holds ``adapters/<name>/``; a table of the objects.

    ``files``: only these of each adapter's files, the others removed from the bucket (a
    broken delivery, on purpose). On the local cluster also the ConfigMap and Secret
    ``adapter-store`` of the namespace, which point the init container at the local object
    store.
    """
    if not cluster.local:
        raise TutorialError(
            f"The tutorial's adapters are trained for the local cluster's stand-in model; "
            f"{cluster.context} serves another, whose layers have other shapes.",
            "Serve an adapter of your own model (the series' aws-rag-qa for Mistral-7B): copy "
            "it to your bucket with aws s3 cp and name bucket and adapter in your overlay's "
            "copy of manifests/components/lora.",
        )
    store = cluster.object_store or objectstore.ObjectStore()
    wanted = None if files is None else list(files)
    rows = []
    for name in names:
        keys = objectstore.publish(store, ADAPTERS / name, bucket, f"{name}/{version}", wanted)
        sizes = {file.name: file.stat().st_size for file in (ADAPTERS / name).iterdir()}
        rows += [(f"s3://{bucket}/{key}", sizes[key.rsplit("/", 1)[1]]) for key in keys]
    if cluster.object_store is not None:
        store_objects = _store_objects(cluster.object_store, cluster.namespace)
        objects.apply_objects(cluster, store_objects, "the adapter store's ConfigMap and Secret")
    return pd.DataFrame(rows, columns=["object", "bytes"])


def adapter_matrices(name: str = "tutorial-qa") -> pd.DataFrame:
    """The shipped adapter's matrices, per adapted weight, read from its safetensors file."""
    return lora.adapter_matrices(ADAPTERS / name)


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
