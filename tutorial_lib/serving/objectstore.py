"""Adapters into an S3 bucket, as the series keeps them: one prefix per adapter and version.

kubectl/aws equivalent: ``aws s3 cp adapters/tutorial-qa/ s3://BUCKET/tutorial-qa/v1/
--recursive`` (with ``--endpoint-url`` for the local cluster's object store).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tutorial_lib.errors import ServingError

#: The bucket of the tutorial's adapters (manifests/components/lora names it).
BUCKET = "vllm-tutorial-adapters"


@dataclass(frozen=True)
class ObjectStore:
    """An S3 API: the local cluster's (``url`` and its root keys), or AWS's (all None)."""

    url: str | None = None  # reachable from here; None: AWS S3
    in_cluster: str | None = None  # the address a pod gives as AWS_ENDPOINT_URL
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    def client(self) -> Any:
        """A boto3 S3 client; AWS's credentials chain where no keys are given."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1" if self.url else None,
        )


def publish(
    store: ObjectStore, folder: Path, bucket: str, prefix: str, names: Iterable[str] | None = None
) -> list[str]:
    """Make ``s3://bucket/prefix/`` hold the files ``names`` of ``folder``, and nothing else.

    By default all of the folder's files; returns the keys uploaded, in order. The bucket
    is created on the local store when missing (on AWS it must exist).
    """
    client = store.client()
    wanted = sorted(names) if names is not None else sorted(p.name for p in folder.iterdir())
    prefix = prefix.strip("/") + "/"
    try:
        if store.url and bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=bucket)
        for name in wanted:
            client.upload_file(str(folder / name), bucket, prefix + name)
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        for item in listed:
            if item["Key"].removeprefix(prefix) not in wanted:
                client.delete_object(Bucket=bucket, Key=item["Key"])
    except (ClientError, BotoCoreError) as exc:
        raise ServingError(
            f"Could not publish {folder} to s3://{bucket}/{prefix}: {exc}",
            "On EKS: your AWS credentials need s3:PutObject, s3:ListBucket and s3:DeleteObject "
            "on that bucket. Locally: `python -m tutorial_lib.local status` shows whether the "
            "object store runs.",
        ) from exc
    return [prefix + name for name in wanted]
